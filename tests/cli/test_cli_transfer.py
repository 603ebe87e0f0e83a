"""``stores ls / cp / sync``: stores named by a values file, by the run contract, or by URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.servers import create_s3_bucket, s3_env, unique_bucket
from stores.cli import main

from support.paths import ROOT


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_cp_sync_ls_through_the_run_contract(tmp_path, s3_server, monkeypatch, capsys):
    bucket = unique_bucket("cli")
    create_s3_bucket(s3_server, bucket)
    for key, value in s3_env(s3_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POLYAXON_RUN_DATA_PATHS", json.dumps({"data-s3": f"s3://{bucket}/data"}))
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("bb")

    assert main(["cp", str(src), "data-s3:run"]) == 0
    assert "2 file(s) sent" in capsys.readouterr().err
    assert main(["sync", str(src), "data-s3:run"]) == 0
    assert "0 file(s) sent, 2 unchanged" in capsys.readouterr().err
    assert main(["ls", "data-s3:run", "-o", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["key"], e["type"]) for e in listed] == [("run/a.txt", "file"), ("run/sub", "directory")]
    assert main(["ls", "-r", f"s3://{bucket}/data/run"]) == 0
    assert "sub/b.txt" in capsys.readouterr().out
    assert main(["sync", "-q", "data-s3:run", str(tmp_path / "back")]) == 0
    assert capsys.readouterr().err == ""
    assert tree(tmp_path / "back") == tree(src)
    assert main(["cp", "nope:x", str(tmp_path)]) == 1
    assert "no store named 'nope'" in capsys.readouterr().err
    # restoring a run's first attempt: nothing there yet is fine only when asked for
    assert main(["sync", "-q", "data-s3:never-written", str(tmp_path / "restore")]) == 0
    assert main(["cp", "-q", "data-s3:never-written", str(tmp_path / "restore")]) == 1
    assert main(["sync", "-q", str(tmp_path / "no-such-dir"), "data-s3:x"]) == 1
    assert main(["sync", "-q", "--missing-ok", str(tmp_path / "no-such-dir"), "data-s3:x"]) == 0


def test_values_file_names_a_store(tmp_path, capsys):
    mount = tmp_path / "mnt"
    values = tmp_path / "values.yaml"
    values.write_text(f"persistence:\n  outputs:\n    out1:\n      mountPath: {mount}\n      hostPath: /srv/out\n")
    (tmp_path / "f.txt").write_text("x")
    assert main(["cp", "--values", str(values), "-q", str(tmp_path / "f.txt"), "out1:dir/"]) == 0
    assert (mount / "dir" / "f.txt").read_text() == "x"


def test_watch_syncs_until_sigterm_then_once_more(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "first.txt").write_text("1")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "stores", "sync", str(src), str(dst), "--watch", "--interval", "60", "-q"],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while not (dst / "first.txt").exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the first sync never happened"
            time.sleep(0.05)
        # written after the last periodic pass: only the final sync can carry it
        (src / "last.txt").write_text("written just before the pod stops")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert tree(dst) == tree(src)
