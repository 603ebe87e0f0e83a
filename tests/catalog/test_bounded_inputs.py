"""Bounded inputs (hardening issue): every file and JSON text the CLI and the in-run lookup take
goes through ``stores.reader``: regular files only, a size cap, nesting capped at 100 for JSON
and YAML alike, duplicate keys and lone surrogates refused.  Each defect once reproduced is run
here through the ``stores`` CLI in a child process with a timeout, so a regression shows as a
failure, not as a hung suite: exit 1 with a message naming the input and the limit, never exit
3 ("internal error") and never a traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from k8s import build_secret, secret_from_file
from stores import Catalog, SecretFormatError, StoresError, ValuesError
from stores.reader import MAX_BYTES, MAX_DEPTH, MAX_SECRET_BYTES, PATH_MAX, load_json, read_file

from support.paths import ROOT
VALUES = str(ROOT / "examples" / "seed-004-values.yaml")
S3_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMIEXAMPLEKEY"}
DEEP = "[" * 100_000


def stores(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("POLYAXON_", "STORES_"))}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "stores", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**base, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)
    proc.seconds = time.monotonic() - started  # type: ignore[attr-defined]
    return proc


def refused(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path)


# -- defect 1: special files hang or never end ----------------------------------------------------


@pytest.mark.parametrize("args", [
    ["validate", "{f}"],
    ["list", "{f}"],
    ["secret", "s", "--store", "s3", "--from-file", "{f}"],
    ["secret", "s", "--store", "s3", "--from-file", "key.json={f}"],
    ["render", VALUES, "--into", "{f}"],
    ["render", VALUES, "--plugins", "{f}"],
    ["render", "{f}"],
    ["env", "{f}", "--run-uuid", "u", "--owner", "o", "--project", "p"],
])
def test_a_fifo_is_refused_not_waited_on(fifo: str, args: list[str]) -> None:
    proc = stores(*[a.format(f=fifo) for a in args], timeout=30)
    refused(proc, "is a FIFO (named pipe), not a regular file; refused")
    assert proc.seconds < 20  # type: ignore[attr-defined]


@pytest.mark.parametrize("args, fragment", [
    (["validate", "/dev/zero"], "/dev/zero: the document: is a character device, not a regular file; refused"),
    (["secret", "s", "--store", "s3", "--from-file", "/dev/zero"], "is a character device"),
    (["render", VALUES, "--into", "/dev/zero"], "is a character device"),
    (["validate", "/tmp"], "/tmp: the document: is a directory, not a values file"),
    (["secret", "s", "--store", "s3", "--from-file", "/tmp"], "is a directory"),
])
def test_devices_and_directories_are_refused(args: list[str], fragment: str) -> None:
    refused(stores(*args, timeout=30), fragment)


# -- defect 2: deep nesting ended in RecursionError (exit 3) ----------------------------------------


def test_deep_nesting_is_refused_everywhere(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP)
    limit = f"deeper than {MAX_DEPTH} levels"
    refused(stores("validate", str(deep)), limit)
    refused(stores("secret", "s", "--store", "s3", "--from-file", str(deep)), limit)
    refused(stores("render", VALUES, "--inputs", DEEP[:50_000]), "--inputs: nests " + limit)
    refused(stores("env", VALUES, "--run-uuid", "u", "--owner", "o", "--project", "p", "--inputs", DEEP[:50_000]),
            "--inputs: nests " + limit)
    refused(stores("render", VALUES, "--plugins", str(deep)), limit)
    refused(stores("render", VALUES, "--plugins", "{" + "[" * 50_000), limit)
    refused(stores("render", VALUES, "--into", str(deep)), limit)
    refused(stores("paths", env={"POLYAXON_RUN_DATA_PATHS": DEEP[:50_000]}), "POLYAXON_RUN_DATA_PATHS nests " + limit)


def test_nesting_at_the_limit_is_accepted() -> None:
    expected: list = []
    for _ in range(MAX_DEPTH - 1):
        expected = [expected]
    assert load_json("[" * MAX_DEPTH + "]" * MAX_DEPTH, what="x") == expected
    with pytest.raises(StoresError, match=f"x nests deeper than {MAX_DEPTH} levels"):
        load_json("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), what="x")
    # brackets inside strings are text, not nesting
    assert load_json(json.dumps(["[{" * 1000]), what="x") == ["[{" * 1000]


# -- defect 3: a lone surrogate crashed `stores paths` after half a table ---------------------------


def test_lone_surrogate_in_data_paths_prints_nothing() -> None:
    proc = stores("paths", env={"POLYAXON_RUN_DATA_PATHS": '{"d":"\\ud800", "e": "/data/e"}'})
    refused(proc, "POLYAXON_RUN_DATA_PATHS holds a lone surrogate escape")
    assert proc.stdout == ""


def test_surrogate_escapes_in_values_and_inputs_are_refused(tmp_path: Path) -> None:
    values = tmp_path / "v.yaml"
    values.write_text('connections:\n  - name: d\n    kind: host_path\n    schema: {hostPath: "/mnt/\\ud800", mountPath: /data/d}\n')
    refused(stores("list", str(values)), "v.yaml:4: connections[0].schema.hostPath: a lone surrogate escape")
    refused(stores("render", VALUES, "--inputs", '{"x": "\\udc00"}'), "--inputs: holds a lone surrogate escape")
    # a pair is one character, and fine
    assert load_json('{"x": "\\ud83d\\ude00"}', what="x") == {"x": "\U0001f600"}


# -- defect 4: the in-run lookup returned garbage as is (more cases in test_run_lookup.py) ---------


@pytest.mark.parametrize("paths, fragment", [
    ({"d": "relative/x"}, "entry 'd' is not an absolute path"),
    ({"d": "/data/../../etc"}, "entry 'd' contains '..'"),
    ({"d": "file:///etc"}, "entry 'd' is a file:// URL"),
    ({"d": "s3://AKIAEXAMPLE:SECRETKEY@bucket"}, "entry 'd' holds credentials"),
    ({"": "/data/1"}, "has an empty or blank name"),
])
def test_stores_paths_refuses_a_garbage_contract(paths: dict[str, str], fragment: str) -> None:
    proc = stores("paths", env={"POLYAXON_RUN_DATA_PATHS": json.dumps(paths)})
    refused(proc, "POLYAXON_RUN_DATA_PATHS", fragment)
    assert "SECRETKEY" not in proc.stderr and proc.stdout == ""


def test_duplicate_keys_in_the_contract_are_refused() -> None:
    proc = stores("paths", env={"POLYAXON_RUN_DATA_PATHS": '{"d": "/data/1", "d": "/etc"}'})
    refused(proc, "POLYAXON_RUN_DATA_PATHS has the key 'd' more than once")


# -- defect 5: sizes: a Secret's 1 MiB, PATH_MAX, the values file cap ------------------------------


def test_key_file_over_a_secrets_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "key.json"
    big.write_text(json.dumps({**S3_KEYS, "AWS_SESSION_TOKEN": "x" * MAX_SECRET_BYTES}))
    refused(stores("secret", "s", "--store", "s3", "--from-file", str(big)), "larger than 1 MiB (1048576 bytes)")
    with pytest.raises(SecretFormatError, match=r"larger than 1 MiB \(1048576 bytes\)"):
        secret_from_file("s", "s3", big)
    # the same limit for a mapping (written as JSON) and for bytes handed in
    with pytest.raises(SecretFormatError, match=r"Kubernetes limits a Secret's data to 1 MiB \(1048576 bytes\)"):
        build_secret("s", "s3", {**S3_KEYS, "AWS_SESSION_TOKEN": "x" * MAX_SECRET_BYTES})
    with pytest.raises(SecretFormatError, match="Kubernetes limits a Secret's data to 1 MiB"):
        build_secret("s", "s3", big.read_bytes())
    # just under the limit is a Secret
    fits = json.dumps({**S3_KEYS, "AWS_SESSION_TOKEN": "x" * (MAX_SECRET_BYTES - 200)}).encode()
    assert len(fits) <= MAX_SECRET_BYTES
    assert build_secret("s", "s3", fits).data


def test_key_file_with_a_duplicate_key_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text('{"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "SECRETONE", "AWS_SECRET_ACCESS_KEY": "SECRETTWO"}')
    proc = stores("secret", "s", "--store", "s3", "--from-file", str(key))
    refused(proc, "has the key 'AWS_SECRET_ACCESS_KEY' more than once")
    assert "SECRETONE" not in proc.stderr and "SECRETTWO" not in proc.stderr


@pytest.mark.parametrize("schema, where", [
    ({"hostPath": "/" + "a" * PATH_MAX, "mountPath": "/data/d"}, "hostPath"),
    ({"hostPath": "/mnt/d", "mountPath": "/" + "a" * PATH_MAX}, "mountPath"),
])
def test_paths_longer_than_path_max_are_refused(tmp_path: Path, schema: dict[str, str], where: str) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(json.dumps({"connections": [{"name": "d", "kind": "host_path", "schema": schema}]}))
    proc = stores("validate", str(values))
    refused(proc, f"{where} is {PATH_MAX + 1} characters long; at most PATH_MAX (4096) are allowed")
    assert "a" * 100 not in proc.stderr  # the value is not echoed


def test_a_path_of_path_max_is_accepted() -> None:
    path = "/" + "a" * (PATH_MAX - 1)
    Catalog.from_values({"connections": [{"name": "d", "kind": "host_path",
                                          "schema": {"hostPath": path, "mountPath": "/data/d"}}]})


def test_values_file_over_the_cap_is_refused_early(tmp_path: Path) -> None:
    # the reported case: 16 MiB, one huge hostPath, 7 s to validate
    values = tmp_path / "huge.yaml"
    values.write_text("persistence:\n  data:\n    d:\n      hostPath: /" + "a" * (16 * 1024 * 1024) + "\n      mountPath: /data/d\n")
    proc = stores("validate", str(values))
    refused(proc, "is larger than 4 MiB (4194304 bytes), the limit for a values file; refused")
    started = time.monotonic()
    with pytest.raises(ValuesError, match="larger than 4 MiB"):
        Catalog.from_file(values)
    assert time.monotonic() - started < 1.0
    with pytest.raises(ValuesError, match="larger than 4 MiB"):
        Catalog.from_yaml("a: " + "b" * MAX_BYTES)


def test_manifest_and_stdin_are_capped(tmp_path: Path) -> None:
    big = "kind: Pod\nmetadata: {name: p}\n# " + "x" * MAX_BYTES + "\n"
    proc = subprocess.run([sys.executable, "-m", "stores", "render", VALUES, "--into", "-"], input=big,
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    refused(proc, "standard input: is larger than 4 MiB (4194304 bytes), the limit for a manifest")


# -- defect 6: a repeated --data flag kept only the last ---------------------------------------------


def test_repeated_data_flags_accumulate() -> None:
    proc = stores("env", VALUES, "--run-uuid", "u", "--owner", "o", "--project", "p", "-o", "json",
                  "--data", "data1", "--data", "data-foo,data-s3")
    assert proc.returncode == 0, proc.stderr
    assert set(json.loads(json.loads(proc.stdout)["POLYAXON_RUN_DATA_PATHS"])) == {"data1", "data-foo", "data-s3"}
    proc = stores("render", VALUES, "-o", "json", "--data", "data1", "--data", "data-foo")
    assert proc.returncode == 0, proc.stderr
    env = {e["name"]: e.get("value") for e in json.loads(proc.stdout)["spec"]["containers"][0]["env"]}
    assert set(json.loads(env["POLYAXON_RUN_DATA_PATHS"])) == {"data1", "data-foo"}
    # '' still means "no data store", and a bad name in any occurrence is reported
    proc = stores("env", VALUES, "--run-uuid", "u", "--owner", "o", "--project", "p", "-o", "json", "--data", "")
    assert json.loads(json.loads(proc.stdout)["POLYAXON_RUN_DATA_PATHS"]) == {}
    refused(stores("render", VALUES, "--data", "data1", "--data", "nope"), "unknown data store 'nope'")


# -- the reader itself ------------------------------------------------------------------------------


def test_read_file_reads_regular_files_and_names_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    assert read_file(path, limit=5) == b"12345"
    with pytest.raises(StoresError, match=r"is larger than 4 bytes, the limit for a file; refused"):
        read_file(path, limit=4)
    with pytest.raises(StoresError, match="no such file"):
        read_file(tmp_path / "missing")
    link = tmp_path / "link"
    link.symlink_to(path)
    assert read_file(link) == b"12345"  # a symlink to a regular file is that file
