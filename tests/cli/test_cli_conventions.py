"""The conventions every command keeps: one -o flag (json and yaml everywhere), helm's -f/--set,
'-' for standard input, the same run defaults for render and env, notes for defaults, help in
the user's words, completion scripts generated from the parser."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stores.cli import build_parser
from stores.cli.values_input import SetError, apply_set, merge_values, parse_set

from support.paths import ROOT
SEED = ROOT / "examples" / "seed-004-values.yaml"
CURRENT = ROOT / "examples" / "current-values.yaml"

#: commands that print no data of their own (a shell script)
NO_DATA = {"completion"}
#: words a user cannot look up: project history, internal module paths, placeholders
INTERNAL = [r"\bseed\b", r"<root>", r"\ba s3\b", r"\b(?:stores|k8s)\.(?!fish\b)[a-z_]+", r"\bstdin\b"]


def stores(*args: str | Path, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k != "STORES_DEBUG" and not k.startswith(("POLYAXON_", "STORES_LOCAL"))}
    proc = subprocess.run([sys.executable, "-m", "stores", *map(str, args)], input=stdin, capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def _commands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


# -- --help of every command ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(_commands()))
def test_help_has_output_flag_help_for_every_option_and_no_internal_words(name: str) -> None:
    parser = _commands()[name]
    actions = {s: a for a in parser._actions for s in a.option_strings}
    if name not in NO_DATA:
        output = actions.get("-o")
        assert output is not None and actions.get("--output") is output, f"{name} has no -o/--output"
        assert {"json", "yaml"} <= set(output.choices), f"{name} -o lacks json or yaml: {output.choices}"
    missing = [a.option_strings or a.dest for a in parser._actions if not (a.help or "").strip()]
    assert not missing, f"stores {name}: options without help: {missing}"
    proc = stores(name, "--help")
    assert proc.returncode == 0
    text = proc.stdout + " ".join(g.title or "" for g in parser._action_groups)
    found = [w for w in INTERNAL if re.search(w, text, re.IGNORECASE)]
    assert not found, f"stores {name} --help uses {found}"


def test_the_help_test_catches_what_it_looks_for() -> None:
    """The words the help walk refuses are the ones the old help used."""
    old = "plugins (seed 002): plugins in the seed's YAML spelling ... a s3 store ... <root>"
    assert all(re.search(w, old, re.IGNORECASE) for w in INTERNAL[:3])


def test_top_level_help_lists_every_command() -> None:
    proc = stores("--help")
    for name in _commands():
        assert re.search(rf"^\s+{name}\s", proc.stdout, re.MULTILINE), name


# -- -o yaml wherever -o json ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["validate", SEED, CURRENT],
    ["list", SEED],
    ["schema"],
    ["env", SEED, "--run-uuid", "r1"],
    ["render", SEED, "--data", "data1", "--run-uuid", "r1"],
    ["ls", "examples/helm-chart"],
], ids=lambda a: a[0])
def test_yaml_and_json_say_the_same(args: list) -> None:
    as_json = stores(*args, "-o", "json")
    as_yaml = stores(*args, "-o", "yaml")
    assert as_json.returncode == as_yaml.returncode == 0, as_json.stderr + as_yaml.stderr
    assert json.loads(as_json.stdout) == yaml.safe_load(as_yaml.stdout)
    assert not as_yaml.stdout.lstrip().startswith(("{", "["))  # really YAML, not JSON


def test_paths_and_cp_print_json_and_yaml(tmp_path: Path) -> None:
    env_run = {"POLYAXON_RUN_DATA_PATHS": json.dumps({"d": "/data/d"}), "POLYAXON_RUN_UUID": "r1"}
    outs = [subprocess.run([sys.executable, "-m", "stores", "paths", "-o", fmt], capture_output=True, text=True,
                           env={**os.environ, **env_run}) for fmt in ("json", "yaml")]
    assert json.loads(outs[0].stdout) == yaml.safe_load(outs[1].stdout) == {"data": {"d": "/data/d"}, "outputs": None}

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    res = stores("cp", tmp_path / "src", f"{tmp_path / 'dst'}/", "--dry-run", "-q", "-o", "yaml")
    assert res.returncode == 0, res.stderr
    doc = yaml.safe_load(res.stdout)
    assert doc["ok"] is True and doc["dry_run"] is True
    assert [(e["key"], e["fate"]) for e in doc["entries"]] == [("a.txt", "would-send")]
    assert not (tmp_path / "dst").exists()


# -- -f / --set / '-' -----------------------------------------------------------------------------


def test_merge_is_helms() -> None:
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "x": 1}
    assert merge_values(base, {"a": {"c": [3], "d": {"f": 2}}, "x": None}) == {
        "a": {"b": 1, "c": [3], "d": {"e": 1, "f": 2}}, "x": None}
    assert base["a"]["c"] == [1, 2]  # the first document is not modified
    assert merge_values({"a": {"b": 1}}, {"a": "text"}) == {"a": "text"}


@pytest.mark.parametrize("text, expected", [
    ("a.b=1", [(["a", "b"], 1)]),
    ("a=true,b=null,c=,d=1.5,e=text", [(["a"], True), (["b"], None), (["c"], ""), (["d"], 1.5), (["e"], "text")]),
    ("c[0].d=x", [(["c", 0, "d"], "x")]),
    (r"k\.v=a\,b", [(["k.v"], "a,b")]),
    ("l={x,2}", [(["l"], ["x", 2])]),
    ("m=#x", [(["m"], "#x")]),
])
def test_set_syntax(text: str, expected: list) -> None:
    assert parse_set(text) == expected


@pytest.mark.parametrize("text", ["a", "a[x]=1", ".a=1", "a..b=1", "a[0]b=1", "a={x", ""])
def test_set_syntax_errors(text: str) -> None:
    with pytest.raises(SetError):
        parse_set(text)


def test_set_into_lists_keeps_the_other_keys() -> None:
    doc = {"c": [{"d": False, "q": 1}]}
    for parts, value in parse_set("c[0].d=true,c[1].d=x"):
        doc = apply_set(doc, parts, value)
    assert doc == {"c": [{"d": True, "q": 1}, {"d": "x"}]}
    with pytest.raises(SetError, match="index 5 is past the end of the list c"):
        apply_set(doc, ["c", 5], 1)


def test_values_files_merge_in_order_and_set_wins(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("persistence:\n  data:\n    d1: {hostPath: /a, mountPath: /d1}\n  outputs:\n    o1: {hostPath: /o, mountPath: /o}\n")
    b.write_text("persistence:\n  data:\n    d1: {mountPath: /b}\n    d2: {hostPath: /c, mountPath: /d2}\n")
    res = stores("list", "-f", a, "-f", b, "--set", "persistence.data.d2.readOnly=true", "-o", "json")
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r["where"] for r in json.loads(res.stdout)}
    assert rows == {"d1": "/a -> /b", "d2": "/c -> /d2 (ro)", "o1": "/o -> /o"}
    # the positional file is the first one; the other order gives the other mountPath
    res = stores("list", b, "-f", a, "-o", "json")
    assert {r["name"]: r["where"] for r in json.loads(res.stdout)}["d1"] == "/a -> /d1"


def test_problems_of_a_merged_document_name_their_file_and_line(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("persistence:\n  data:\n    d1: {hostPath: /a, mountPath: /d1}\n")
    b.write_text("# override\npersistence:\n  data:\n    d1:\n      readOnly: maybe\n")
    res = stores("validate", "-f", a, "-f", b, "--set", "persistence.outputs.o.mountPath=relative")
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    assert f"{b}:5: persistence.data.d1.readOnly: expected true or false, got 'maybe'" in lines
    assert any(line.startswith("--set: persistence.outputs.o") for line in lines), lines
    assert res.stdout == ""


def test_stdin_is_a_values_file() -> None:
    text = CURRENT.read_text()
    res = stores("validate", "-", stdin=text)
    assert res.returncode == 0 and res.stdout == "standard input: ok (6 connections)\n"
    res = stores("list", "-f", "-", "-o", "json", stdin=text)
    assert res.returncode == 0 and len(json.loads(res.stdout)) == 6
    res = stores("validate", "-", stdin="connections: 3\n")
    assert res.returncode == 1 and res.stderr.startswith("standard input:1: connections: expected a list")
    res = stores("validate", "-f", "-", "-f", "-", stdin=text)
    assert res.returncode == 1 and "standard input ('-') can be read once" in res.stderr


def test_stdin_over_the_limit_is_refused() -> None:
    from stores.reader import MAX_BYTES

    res = stores("validate", "-", stdin="#" * (MAX_BYTES + 1))
    assert res.returncode == 1
    assert "standard input: the document: is larger than 4 MiB" in res.stderr


def test_validate_mixes_no_arguments_and_flags() -> None:
    res = stores("validate", SEED, "--set", "a=1")
    assert res.returncode == 2 and "not both" in res.stderr


# -- same run defaults, notes ---------------------------------------------------------------------


def test_env_without_a_file_or_identity_is_renders_run() -> None:
    env = stores("env", "-o", "json")
    render = stores("render", "-o", "json")
    assert env.returncode == render.returncode == 0, env.stderr + render.stderr
    contract = json.loads(env.stdout)
    rendered = {e["name"]: e.get("value") for e in json.loads(render.stdout)["spec"]["containers"][0]["env"]}
    assert contract["POLYAXON_RUN_UUID"] == rendered["POLYAXON_RUN_UUID"]
    assert contract["POLYAXON_RUN_OUTPUTS_PATH"] == rendered["POLYAXON_RUN_OUTPUTS_PATH"]


@pytest.mark.parametrize("command", ["list", "render", "env"])
def test_the_bundled_example_is_announced(command: str, tmp_path: Path) -> None:
    res = stores(command, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.startswith("note: no values file given: using the bundled example")
    res = stores(command, CURRENT)
    assert "bundled example" not in res.stderr


def test_a_default_store_is_announced(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text("persistence:\n  data:\n    d1: {hostPath: /a, mountPath: /d1}\n")
    res = stores("validate", values)
    assert res.stdout == f"{values}: ok (2 connections)\n"
    assert res.stderr == (f"{values}: note: persistence.outputs is not set: the old chart's default outputs store "
                          "is added ('default-outputs', host path /outputs on /outputs)\n")
    res = stores("list", values)
    assert res.stderr.startswith("note: persistence.outputs is not set")


def test_ls_of_an_unknown_store_says_how_to_name_one(tmp_path: Path) -> None:
    res = stores("ls", "nosuchstore:foo", cwd=tmp_path)
    assert res.returncode == 1
    assert "no store named 'nosuchstore'" in res.stderr and "-f/--values FILE" in res.stderr
    res = stores("ls", "datta1:foo", "-f", SEED, cwd=tmp_path)
    assert res.returncode == 1 and "did you mean 'data1'?" in res.stderr


# -- completion -----------------------------------------------------------------------------------


def _bash_complete(script: str, *words: str) -> list[str]:
    words_q = " ".join(f"'{w}'" for w in words)
    probe = f'COMP_WORDS=({words_q}); COMP_CWORD={len(words) - 1}; _stores_complete; printf "%s\\n" "${{COMPREPLY[@]}}"'
    proc = subprocess.run(["bash", "-c", script + "\n" + probe], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_follows_the_parser() -> None:
    res = stores("completion", "bash")
    assert res.returncode == 0 and res.stderr == ""
    script = res.stdout
    assert _bash_complete(script, "stores", "li") == ["list"]
    assert set(_bash_complete(script, "stores", "")) >= set(_commands())
    assert _bash_complete(script, "stores", "list", "-o", "") == ["table", "json", "yaml"]
    assert _bash_complete(script, "stores", "validate", "--al") == ["--allow-host-path"]
    assert _bash_complete(script, "stores", "render", "--sidecar-mode", "") == ["container", "native"]
    assert _bash_complete(script, "stores", "completion", "") == ["bash", "zsh", "fish"]
    # every option of every command is offered
    for name, parser in _commands().items():
        offered = set(_bash_complete(script, "stores", name, "-"))
        flags = {s for a in parser._actions for s in a.option_strings}
        assert flags <= offered, (name, flags - offered)


def test_zsh_and_fish_scripts_cover_every_command_and_option() -> None:
    zsh = stores("completion", "zsh").stdout
    assert zsh.startswith("#compdef stores") and "bashcompinit" in zsh and "_stores_complete" in zsh
    fish = stores("completion", "fish").stdout
    for name, parser in _commands().items():
        assert f"-a {name} -d" in fish
        for action in parser._actions:
            for flag in action.option_strings:
                spec = f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}"
                assert f"'__fish_seen_subcommand_from {name}' " in fish
                assert any(line.startswith(f"complete -c stores -n '__fish_seen_subcommand_from {name}'") and f" {spec}" in line
                           for line in fish.splitlines()), (name, flag)
    assert "-x -a 'table json yaml'" in fish
    bad = stores("completion", "tcsh")
    assert bad.returncode == 2


def test_completion_costs_nothing_on_other_commands() -> None:
    """Building the parser does not import the script generators' callers' work: a normal
    command never calls them (the script is only computed by `stores completion`)."""
    code = ("import sys; from stores.cli import main; import stores.cli.completion as c; "
            "c._model = lambda: (_ for _ in ()).throw(AssertionError('called')); "
            "sys.exit(main(['schema']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr


# -- a command line builds its own command's parsers only ------------------------------------------


def test_the_command_map_names_every_command_of_every_module() -> None:
    """``stores.cli.COMMANDS`` (which module a command line's first word needs) is exactly what
    the modules register: a command missing from it would still work (the whole parser is
    built), a stale entry would not."""
    import importlib

    from stores.cli import COMMAND_MODULES, COMMANDS, _Parser

    registered = {}
    for module in COMMAND_MODULES:
        parser = _Parser(prog="stores")
        sub = parser.add_subparsers(dest="command", parser_class=_Parser)
        importlib.import_module(module).register(sub)
        registered.update(dict.fromkeys(sub.choices, module))
    assert COMMANDS == registered


@pytest.mark.parametrize("name", sorted(_commands()))
def test_a_command_parser_built_alone_is_the_one_of_the_whole_line(name: str) -> None:
    """Same options, defaults and help text whether the command's module alone or every module
    was registered: only the start-up time differs."""
    def described(parser: argparse.ArgumentParser) -> list[tuple]:
        return [(a.option_strings, a.dest, a.default, a.help, a.choices, a.nargs) for a in parser._actions]

    (sub,) = [a for a in build_parser([name])._actions if isinstance(a, argparse._SubParsersAction)]
    assert described(sub.choices[name]) == described(_commands()[name])
    assert sub.choices[name].format_help() == _commands()[name].format_help()
