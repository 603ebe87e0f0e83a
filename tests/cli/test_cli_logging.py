"""The transfer commands log through stdlib logging: the level from ``-v/-q``, else
``STORES_LOG_LEVEL``, else ``POLYAXON_LOG_LEVEL`` (what the renderer sets on the toolkit
containers), else INFO; ``--log-format json`` prints one JSON object per line with a timestamp
(errors too); off a terminal, timestamped progress lines every ``--progress-interval`` seconds;
no secret value in any line; ``stores --help`` and ``stores.run`` do not import logging."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stores.cli import main
from stores.logs import reset

STORES = str(Path(sys.executable).parent / "stores")


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch):
    for var in ("STORES_LOG_LEVEL", "POLYAXON_LOG_LEVEL", "STORES_LOG_FORMAT", "STORES_PROGRESS_INTERVAL"):
        monkeypatch.delenv(var, raising=False)
    yield
    reset()


def _src(tmp_path: Path, n: int = 2) -> Path:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    for i in range(n):
        (src / "d" / f"f{i}.txt").write_text(f"file {i}\n")
    return src


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_default_level_is_info_v_shows_each_file_q_shows_nothing(tmp_path, capsys) -> None:
    src = _src(tmp_path)
    code, err = _run(["cp", str(src), str(tmp_path / "a")], capsys)
    assert code == 0 and err.splitlines() == [err.splitlines()[0]] and "2 file(s) sent" in err
    code, err = _run(["cp", "-v", str(src), str(tmp_path / "b")], capsys)
    assert code == 0 and "sent d/f0.txt (7 B)" in err and "sent d/f1.txt (7 B)" in err
    code, err = _run(["cp", "-q", str(src), str(tmp_path / "c")], capsys)
    assert code == 0 and err == ""


@pytest.mark.parametrize("env, flags, debug", [
    ({"POLYAXON_LOG_LEVEL": "DEBUG"}, [], True),
    ({"POLYAXON_LOG_LEVEL": "debug", "STORES_LOG_LEVEL": "warn"}, [], False),  # ours wins
    ({"STORES_LOG_LEVEL": "ERROR"}, ["-v"], True),  # a flag beats the environment
    ({"STORES_LOG_LEVEL": "DEBUG"}, ["-q"], False),
])
def test_level_precedence(env, flags, debug, tmp_path, capsys, monkeypatch) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    code, err = _run(["cp", *flags, str(_src(tmp_path)), str(tmp_path / "dst")], capsys)
    assert code == 0
    assert ("sent d/f0.txt" in err) is debug


def test_a_bad_level_names_its_variable(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("POLYAXON_LOG_LEVEL", "loud")
    code, err = _run(["cp", str(_src(tmp_path)), str(tmp_path / "dst")], capsys)
    assert code == 1 and "log_level" in err and "$POLYAXON_LOG_LEVEL" in err


def test_json_lines_with_timestamps_errors_included(tmp_path, capsys) -> None:
    src = _src(tmp_path)
    os.mkfifo(src / "pipe")
    code, err = _run(["sync", "--log-format", "json", "-v", str(src), str(tmp_path / "dst")], capsys)
    assert code == 0
    docs = [json.loads(line) for line in err.splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(d) and d["time"].endswith("Z") for d in docs)
    assert {"stores.transfer", "stores.cli"} <= {d["logger"] for d in docs}
    summary = docs[-1]
    assert summary["logger"] == "stores.cli" and summary["sent"] == 2 and summary["skipped"] == 1
    code, err = _run(["cp", "--log-format", "json", str(tmp_path / "nothing"), str(tmp_path / "x")], capsys)
    assert code == 1
    (doc,) = [json.loads(line) for line in err.splitlines()]
    assert doc["level"] == "error" and doc["message"].startswith("nothing to copy")


def test_format_from_the_environment(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("STORES_LOG_FORMAT", "json")
    code, err = _run(["cp", str(_src(tmp_path)), str(tmp_path / "dst")], capsys)
    assert code == 0 and json.loads(err)["sent"] == 2


def test_off_a_terminal_progress_lines_every_interval(tmp_path, capsys, monkeypatch) -> None:
    import stores.transfer.engine as engine

    real = engine._copy_one

    def slow(*args, **kwargs):
        time.sleep(0.1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_copy_one", slow)
    code, err = _run(["cp", "--workers", "1", "--progress-interval", "0.05", str(_src(tmp_path, 5)),
                      str(tmp_path / "dst")], capsys)
    assert code == 0
    lines = [line for line in err.splitlines() if " files " in line]
    assert len(lines) >= 2, err
    assert all(line[:2] == "20" and line[10] == "T" and "/5 files" in line for line in lines)
    code, err = _run(["cp", "--workers", "1", "--progress-interval", "0", str(_src(tmp_path / "b", 3)),
                      str(tmp_path / "dst2")], capsys)
    assert code == 0 and len(err.splitlines()) == 1  # the summary only


def test_no_secret_in_a_json_error(tmp_path, capsys) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY"
    code, err = _run(["ls", "--log-format", "json", f"s3://AKIAEXAMPLE:{secret}@bucket/x"], capsys)
    assert code == 1 and secret not in err
    assert json.loads(err.splitlines()[-1])["level"] == "error"


def _modules(code: str) -> set[str]:
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr
    return {line.split("|")[-1].strip() for line in res.stderr.splitlines() if line.startswith("import time:")}


def test_help_and_the_in_run_lookup_do_not_import_logging() -> None:
    assert "logging" not in _modules("import stores.run")
    assert "logging" not in _modules(
        "import sys\nfrom stores.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass")
