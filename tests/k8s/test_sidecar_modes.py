"""Sidecars that end (issue 23, item 3).

- ``kube_version`` (``stores render --kube-version``, ``Settings(kube_version=...)``; default
  1.37) picks the sidecar: native from 1.29 (an init container with ``restartPolicy: Always``,
  stopped by Kubernetes once the main container ended), classic before (a container that ends on
  its own after the main container's done file).  One golden file per mode, each strictly valid
  for the versions it is for.
- The classic mechanism, run as a Job-like process tree: the main container's wrapped command and
  the rendered sidecar command as real processes against moto; the main process writes its
  outputs and ends; the sidecar sees the done file, does its final pass and exits 0 on its own,
  its report in the context says so, and every output is in the store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from k8s import render_patch
from k8s.apply import MAIN_WRAPPER, apply_patch, wrap_main_command
from k8s.collect import MAIN_DONE_FILE, SIDECAR_REPORT_FILE
from k8s.validate import validate_manifest, wrap_patch
from support.k8s import RUN, assert_golden
from support.servers import create_s3_bucket, unique_bucket
from stores.catalog import Catalog
from stores.errors import RenderError, ValuesError
from stores.settings import Settings, load_settings
from support.sandbox import Sandbox, catalog_for, keys

ROOT = Path(__file__).resolve().parents[2]
OFF = {"auth": False, "docker": False, "shm": False, "mountArtifactsStore": False, "collectArtifacts": False,
       "collectLogs": False, "collectResources": False, "autoResume": False, "externalHost": False}
COLLECT = {**OFF, "collectArtifacts": True}
CATALOG = {"artifactsStore": {"name": "artifacts", "kind": "s3", "schema": {"bucket": "s3://plx-artifacts"},
                              "secret": {"name": "artifacts-creds", "mountPath": "/plx-secrets/artifacts"}}}
JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"},
       "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [
           {"name": "main", "image": "python:3.12-slim", "command": ["python", "train.py"], "args": ["--epochs", "3"]}]}}}}


def _render(settings: Settings | None = None, catalog: Catalog | None = None, plugins: dict | None = None):
    return render_patch(catalog or Catalog.from_values(CATALOG), None, RUN, plugins=plugins or COLLECT, settings=settings)


def _valid(manifest: dict, versions: tuple[str, ...]) -> None:
    for version in versions:
        validate_manifest(manifest, version)


def test_default_is_the_newest_validated_version_and_a_native_sidecar():
    assert Settings().kube_version == "1.37"
    out = _render().to_dict()
    assert_golden("sidecar-native-1.37", out)
    sidecar = out["spec"]["initContainers"][-1]
    assert sidecar["name"] == "polyaxon-sidecar" and sidecar["restartPolicy"] == "Always"
    assert "--until-file" not in sidecar["command"]  # Kubernetes stops it; exiting early would restart it
    assert sidecar["command"][-2:] == ["--report", SIDECAR_REPORT_FILE]
    assert [c["name"] for c in out["spec"]["containers"]] == ["main"]
    for kind in ("Pod", "Job"):
        _valid(wrap_patch(out, kind), ("1.30", "1.37"))
        with pytest.raises(RenderError, match="restartPolicy"):
            validate_manifest(wrap_patch(out, kind), "1.25")


@pytest.mark.parametrize("version, mode", [("1.29", "native"), ("1.30", "native"), ("1.28", "container"), ("1.25", "container")])
def test_the_kube_version_picks_the_mode(version, mode):
    assert Settings(kube_version=version).effective_sidecar_mode == mode
    assert load_settings({"STORES_KUBE_VERSION": version}).effective_sidecar_mode == mode
    # an explicit mode wins, where the version allows it
    assert Settings(kube_version=version, sidecar_mode="container").effective_sidecar_mode == "container"


def test_native_sidecar_before_129_is_refused():
    with pytest.raises(ValuesError, match="native sidecars need Kubernetes 1.29"):
        Settings(kube_version="1.25", sidecar_mode="native")
    with pytest.raises(ValuesError, match="kube_version"):
        Settings(kube_version="one-point-thirty")


def test_classic_sidecar_for_125_patch_golden():
    out = _render(Settings(kube_version="1.25")).to_dict()
    assert_golden("sidecar-classic-1.25", out)
    sidecar = out["spec"]["containers"][-1]
    assert sidecar["name"] == "polyaxon-sidecar" and "restartPolicy" not in sidecar
    assert sidecar["command"][-4:] == ["--report", SIDECAR_REPORT_FILE, "--until-file", MAIN_DONE_FILE]
    main_env = {e["name"]: e.get("value") for e in out["spec"]["containers"][0]["env"]}
    assert main_env["STORES_MAIN_DONE_FILE"] == MAIN_DONE_FILE
    for kind in ("Pod", "Job"):
        _valid(wrap_patch(out, kind), ("1.25", "1.30", "1.37"))


def test_classic_sidecar_job_golden_wraps_the_main_command():
    job = apply_patch(JOB, _render(Settings(kube_version="1.25")))
    assert_golden("sidecar-classic-job-1.25", job)
    _valid(job, ("1.25", "1.30", "1.37"))
    main = job["spec"]["template"]["spec"]["containers"][0]
    assert main["command"] == ["/bin/sh", "-c", MAIN_WRAPPER, "stores-main", "python", "train.py"]
    assert main["args"] == ["--epochs", "3"]  # untouched: the shell passes them on
    assert not wrap_main_command(main)  # never wrapped twice


def test_native_job_is_not_wrapped():
    job = apply_patch(JOB, _render())
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["python", "train.py"]
    _valid(job, ("1.30", "1.37"))


def test_cli_kube_version(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(CATALOG))
    base = [sys.executable, "-m", "stores", "render", str(values), "--owner", "acme", "--project", "vision",
            "--name", "train", "--collect", "--no-auth", "--no-shm"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORES_")}
    env["PYTHONPATH"] = str(ROOT)

    def render(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([*base, *extra], capture_output=True, text=True, env=env, timeout=60)

    native = yaml.safe_load(render("--validate", "1.37").stdout)
    assert any(c.get("restartPolicy") == "Always" for c in native["spec"]["initContainers"])
    classic = render("--kube-version", "1.25", "--validate", "1.25")
    assert classic.returncode == 0, classic.stderr
    assert yaml.safe_load(classic.stdout)["spec"]["containers"][-1]["name"] == "polyaxon-sidecar"
    bad = render("--kube-version", "1.25", "--sidecar-mode", "native")
    assert bad.returncode != 0 and "1.29" in bad.stderr


# ---- the classic mechanism as a process tree ---------------------------------------------------

_MAIN = r"""
import os, sys, time
out = os.environ["POLYAXON_RUN_OUTPUTS_PATH"]
os.makedirs(out, exist_ok=True)
for i in range(int(sys.argv[1])):
    with open(os.path.join(out, f"step-{i:03d}.txt"), "w") as fh:
        fh.write(f"step {i}\n" * 100)
    time.sleep(0.05)
with open(os.path.join(out, "model.bin"), "wb") as fh:  # the last output, written as the run ends
    fh.write(b"\x00weights" * 5000)
sys.exit(int(sys.argv[2]))
"""


def _main_argv(container: dict, box: Sandbox) -> list[str]:
    argv = list(container["command"]) + list(container.get("args") or [])
    assert argv[:3] == ["/bin/sh", "-c", MAIN_WRAPPER]
    return [sys.executable if a == "python" else a for a in argv]


def _literal_env(container: dict, box: Sandbox) -> dict[str, str]:
    env = {v["name"]: v["value"] for v in container.get("env", []) if "value" in v}
    env = {k: str(box.local(v)) if v.startswith("/plx-context") else v for k, v in env.items()}
    return {**env, "PATH": os.environ.get("PATH", "")}


def test_classic_sidecar_ends_after_the_main_process_and_loses_nothing(s3_server, tmp_path):
    bucket = unique_bucket("artifacts")
    create_s3_bucket(s3_server, bucket)
    manifest = json.loads(json.dumps(JOB))
    manifest["spec"]["template"]["spec"]["containers"][0].update(command=["python", "-c", _MAIN], args=["20", "0"])
    patch = render_patch(catalog_for(bucket, "unused"), None, RUN, settings=Settings(kube_version="1.25"),
                         plugins={**COLLECT, "sidecar": {"syncInterval": 1}})
    job = apply_patch(manifest, patch)
    containers = job["spec"]["template"]["spec"]["containers"]
    main, sidecar = containers[0], containers[-1]
    box = Sandbox(tmp_path, s3_server)
    box.local(f"/plx-context/artifacts/{RUN.uuid}/outputs").mkdir(parents=True)  # the init container's work
    report = box.local(SIDECAR_REPORT_FILE)

    side = subprocess.Popen(box.argv(sidecar), env=box.env(sidecar), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        main_proc = subprocess.run(_main_argv(main, box), env=_literal_env(main, box), capture_output=True, text=True,
                                   timeout=120)
        assert main_proc.returncode == 0, main_proc.stderr
        assert box.local(MAIN_DONE_FILE).read_text().strip() == "0"  # the wrapper's signal, with the exit code
        start = time.monotonic()
        out, err = side.communicate(timeout=60)  # ends on its own: nobody signals it
    finally:
        if side.poll() is None:
            side.kill()
            side.wait()
    assert side.returncode == 0, err
    assert time.monotonic() - start < 30
    assert "final pass (the main container ended)" in err and "final pass done" in err, err
    doc = json.loads(report.read_text())
    assert doc["ok"] is True and doc["final"] is True
    stored = keys(s3_server, bucket, RUN.uuid + "/")
    run_dir = box.local(f"/plx-context/artifacts/{RUN.uuid}")
    local = {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in run_dir.rglob("*") if p.is_file()}
    assert len(local) == 21 and stored == local  # every output, the last one included
    assert {r["key"]: r["fate"] for r in doc["entries"]}["outputs/model.bin"] in ("sent", "unchanged")


def test_the_wrapper_keeps_the_exit_code_and_passes_sigterm_on(tmp_path):
    done = tmp_path / "done"
    env = {"STORES_MAIN_DONE_FILE": str(done), "PATH": os.environ.get("PATH", "")}
    failed = subprocess.run(["/bin/sh", "-c", MAIN_WRAPPER, "stores-main", sys.executable, "-c", "raise SystemExit(3)"],
                            env=env, timeout=30)
    assert failed.returncode == 3 and done.read_text().strip() == "3"
    done.unlink()
    script = "import signal, sys, time\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\nprint('up', flush=True)\ntime.sleep(60)"
    proc = subprocess.Popen(["/bin/sh", "-c", MAIN_WRAPPER, "stores-main", sys.executable, "-c", script], env=env,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 7  # the program's own handling of SIGTERM, passed on by the shell
    assert done.read_text().strip() == "7"
