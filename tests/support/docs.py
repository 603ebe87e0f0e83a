"""Every code block of docs/ (and of the examples' READMEs, see tests/docs/test_examples.py) runs,
and what it shows is what it prints.

The convention (docs/contributing.md says the same for writers):

- A fenced ```bash block is a terminal session: lines starting with ``$ `` are commands (a line
  ending in ``\\`` continues on the next line), the lines after a command up to the next ``$ ``
  are its output (stdout and stderr together, ``PYTHONUNBUFFERED=1``).  Every command must exit
  0: a command that is meant to fail is shown as ``$ stores validate bad.yaml || echo "exit $?"``.
- A fenced ```python block is executed; the blocks of one page run in order in one interpreter
  (one namespace).  A ```text block right after it (only blank lines between) is its expected
  stdout; without one the block must print nothing.
- In expected output, ``...`` on a line of its own stands for any number of lines (zero too),
  and ``...`` inside a line for any text on that line.  Nothing else is normalised (trailing
  spaces at line ends and trailing blank lines are ignored).
- Every page runs in its own temporary directory holding a copy of the repository's
  ``examples/`` folder, with a clean environment (no ``POLYAXON_*``, ``STORES_*``, ``AWS_*`` ... of
  the machine running the tests), ``HOME`` in that directory and the virtualenv's ``bin`` first on
  ``PATH``.  Commands and Python run from that directory.
- An HTML comment on the line before a block says what the block is, when it is not one of the
  above:

  ``<!-- file: examples/x.yaml -->``     the block is that repository file, exactly;
  ``<!-- excerpt: examples/x.yaml -->``  the block's lines appear, in one piece, in that file;
  ``<!-- write: name.yaml -->``          the block is written to that path in the page's
                                         directory (YAML/JSON blocks must parse) for later blocks;
  ``<!-- values -->``                    a YAML block that must be a valid helm values document;
  ``<!-- plugins -->``                   a YAML block that must be a valid ``plugins:`` section;
  ``<!-- no-run: why -->``               not executed; counted, and the count is pinned below.

Any other block fails the test, so nothing is skipped by accident.

``python tests/support/docs.py --show docs/page.md`` runs a page and prints every command's and
block's actual output, for writers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# run as a script too (``--show`` below), where ``support`` is not importable
ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
#: where `stores` and `python3` come from; STORES_DOCS_BIN points the snippets at another
#: installation (e.g. a fresh virtualenv: STORES_DOCS_BIN=/tmp/fresh/bin python tests/support/docs.py ...)
BIN = Path(os.environ.get("STORES_DOCS_BIN") or Path(sys.executable).parent)

#: blocks marked ``<!-- no-run: ... -->`` over docs/ and examples/**/README.md; change it on purpose
NO_RUN_EXPECTED = {"docs": 11, "examples": 0, "readme": 5}
#: the repository's README: its "CLI at a glance" runs as written from the clone root (the
#: page's directory holds a copy of examples/, as the clone does)
README = ROOT / "README.md"

_MARKER = re.compile(r"^<!--\s*(file|excerpt|write|values|plugins|no-run)\s*(?::\s*(.*?))?\s*-->$")
_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None = None
    #: the ```text block that follows a python block
    expected: "Block | None" = None
    adjacent_to_previous: bool = False

    def where(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path
        return f"{shown}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with its marker comment."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    last_block_end = -10
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2)
        start = i
        j = i + 1
        while j < len(lines) and lines[j].strip() != fence:
            j += 1
        if j >= len(lines):
            raise AssertionError(f"{path}:{start + 1}: unclosed code block")
        marker = None
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0:
            mm = _MARKER.match(lines[k].strip())
            if mm:
                marker = (mm.group(1), (mm.group(2) or "").strip())
        between = lines[last_block_end + 1 : start]
        adjacent = last_block_end >= 0 and all(not s.strip() for s in between)
        blocks.append(Block(path, start + 1, lang, "\n".join(lines[start + 1 : j]) + "\n", marker,
                            adjacent_to_previous=adjacent))
        last_block_end = j
        i = j + 1
    # attach ```text outputs to the python block before them
    out: list[Block] = []
    for block in blocks:
        if (block.lang == "text" and block.marker is None and block.adjacent_to_previous and out
                and out[-1].lang == "python" and out[-1].marker is None and out[-1].expected is None):
            out[-1].expected = block
            continue
        out.append(block)
    return out


# -- matching -------------------------------------------------------------------------------------


def _clean(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_matches(expected: str, actual: str) -> bool:
    """``...`` alone on a line: any lines; ``...`` inside a line: any text on that line."""
    pattern = ""
    for line in _clean(expected):
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += "[^\n]*?".join(re.escape(p) for p in line.split("...")) + r"\n"
    text = "".join(line + "\n" for line in _clean(actual))
    return re.fullmatch(pattern, text) is not None


# -- running --------------------------------------------------------------------------------------


def clean_env(home: Path) -> dict[str, str]:
    """No variables of the machine that could change what the snippets print."""
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "COLUMNS": "100",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "TMPDIR": str(home / "tmp"),
    }
    (home / "tmp").mkdir(exist_ok=True)
    return env


_RUNNER = textwrap.dedent(
    r'''
    import contextlib, io, json, os, sys, traceback
    proto = os.fdopen(os.dup(1), "w")
    namespace = {"__name__": "__main__"}
    for line in sys.stdin:
        code = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        error = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                exec(compile(code["code"], code["where"], "exec"), namespace)
            except BaseException:
                error = traceback.format_exc()
        proto.write(json.dumps({"stdout": out.getvalue(), "stderr": err.getvalue(), "error": error}) + "\n")
        proto.flush()
    '''
)


class PythonSession:
    """One interpreter per page: blocks run in order in one namespace."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [str(BIN / "python3"), "-c", _RUNNER], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def run(self, code: str, where: str) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"code": code, "where": where}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"{where}: the Python session died: {self.proc.stderr.read() if self.proc.stderr else ''}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def split_session(text: str, where: str) -> list[tuple[str, str]]:
    """``$ cmd`` lines (with ``\\`` continuations) and the output after each."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not lines[0].startswith("$ "):
        raise AssertionError(f"{where}: a bash block must start with a '$ ' command line")
    steps: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        cmd = lines[i][2:]
        while cmd.endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd + "\n" + lines[i]
        i += 1
        out = []
        while i < len(lines) and not lines[i].startswith("$ "):
            out.append(lines[i])
            i += 1
        steps.append((cmd, "\n".join(out)))
    return steps


def run_command(cmd: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    return proc.returncode, proc.stdout


@dataclass
class Report:
    commands: int = 0
    python_blocks: int = 0
    outputs_checked: int = 0
    files_checked: int = 0
    no_run: int = 0
    failures: list[str] = field(default_factory=list)


def _load_structured(block: Block) -> Any:
    if block.lang == "json":
        return json.loads(block.text)
    return yaml.safe_load(block.text)


def check_page(path: Path, workdir: Path, show: bool = False) -> Report:
    """Run every block of ``path`` in ``workdir``; collect failures (does not raise)."""
    report = Report()
    if not (workdir / "examples").exists():
        shutil.copytree(EXAMPLES, workdir / "examples", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = clean_env(workdir)
    session: PythonSession | None = None
    try:
        for block in parse_blocks(path):
            where = block.where()
            kind, arg = block.marker or ("", "")
            if kind == "no-run":
                if not arg:
                    report.failures.append(f"{where}: a no-run marker needs a reason")
                report.no_run += 1
                continue
            if kind in ("file", "excerpt"):
                target = ROOT / arg
                if not target.is_file():
                    report.failures.append(f"{where}: quotes {arg}, which does not exist")
                    continue
                have = target.read_text(encoding="utf-8")
                if kind == "file" and _clean(have) != _clean(block.text):
                    report.failures.append(f"{where}: differs from {arg}")
                if kind == "excerpt" and "\n".join(_clean(block.text)) not in "\n".join(_clean(have)):
                    report.failures.append(f"{where}: not a piece of {arg}")
                report.files_checked += 1
                continue
            if kind == "write":
                try:
                    if block.lang in ("yaml", "json"):
                        _load_structured(block)
                except Exception as exc:  # noqa: BLE001 - reported as a failure of the page
                    report.failures.append(f"{where}: {arg} does not parse: {exc}")
                dest = workdir / arg
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_text(block.text, encoding="utf-8")
                report.files_checked += 1
                continue
            if kind in ("values", "plugins"):
                report.files_checked += 1
                try:
                    if kind == "values":
                        from stores.catalog import Catalog

                        Catalog.from_yaml(block.text, file=where)
                    else:
                        from stores.plugins import parse_plugins

                        parse_plugins(yaml.safe_load(block.text), file=where)
                except Exception as exc:  # noqa: BLE001
                    report.failures.append(f"{where}: not a valid {kind} document: {exc}")
                continue
            if block.lang == "bash":
                try:
                    steps = split_session(block.text, where)
                except AssertionError as exc:
                    report.failures.append(str(exc))
                    continue
                for cmd, expected in steps:
                    code, out = run_command(cmd, workdir, env)
                    report.commands += 1
                    if show:
                        print(f"--- {where}\n$ {cmd}\n{out}[exit {code}]")
                    if code != 0:
                        report.failures.append(f"{where}: `{cmd}` exited {code}:\n{out}")
                        continue
                    report.outputs_checked += 1
                    if not output_matches(expected, out):
                        report.failures.append(f"{where}: `{cmd}` printed\n{out}\nbut the page shows\n{expected}")
                continue
            if block.lang == "python":
                if session is None:
                    session = PythonSession(workdir, env)
                result = session.run(block.text, where)
                report.python_blocks += 1
                if show:
                    print(f"--- {where}\n{result['stdout']}{result['error'] or ''}")
                if result["error"]:
                    report.failures.append(f"{where}: raised\n{result['error']}{result['stderr']}")
                    continue
                expected = block.expected.text if block.expected is not None else ""
                report.outputs_checked += 1
                if not output_matches(expected, result["stdout"]):
                    shown = "the page shows\n" + expected if block.expected else "the page shows no output"
                    report.failures.append(f"{where}: printed\n{result['stdout']}\nbut {shown}")
                continue
            report.failures.append(
                f"{where}: a ```{block.lang or '(no language)'} block that is neither run nor marked "
                "(see tests/docs/test_docs.py for the markers)"
            )
    finally:
        if session is not None:
            session.close()
    return report


def doc_pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def count_no_run(paths: list[Path]) -> int:
    return sum(1 for p in paths for b in parse_blocks(p) if b.marker and b.marker[0] == "no-run")


if __name__ == "__main__":  # python tests/support/docs.py --show docs/page.md [...]
    import tempfile

    args = [a for a in sys.argv[1:] if a != "--show"]
    for arg in args:
        with tempfile.TemporaryDirectory() as tmp:
            rep = check_page(Path(arg).resolve(), Path(tmp), show="--show" in sys.argv)
        print(f"== {arg}: {rep.commands} commands, {rep.python_blocks} python blocks, "
              f"{rep.outputs_checked} outputs checked, {rep.files_checked} files, {rep.no_run} no-run")
        for failure in rep.failures:
            print("FAIL", failure, "\n")
