"""The k8s layer on the oldest kubernetes client the ``k8s`` extra allows (kfp 2.x pins
``kubernetes>=8,<31``; our floor is the pin's lower bound): a separate virtualenv, cached under
``.bench/``, with that client and this package (editable, so it is always today's code), renders
the examples; the output must be byte for byte what the current client renders.

The old client's models are plain classes (``openapi_types``), serialised through
``ApiClient().sanitize_for_serialization`` (``k8s.serialize``); 37+ are pydantic models."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: every case runs in-process in each interpreter; the result is {case: stdout} as JSON
RENDER_SCRIPT = r'''
import contextlib, io, json, os, runpy, sys
from pathlib import Path

from stores.cli import main

ROOT = Path(sys.argv[1])
os.chdir(ROOT)
out = {}


def cli(name, *argv, stdin=None):
    buf, err = io.StringIO(), io.StringIO()
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()))
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err):
        code = main(list(argv))
    out[name] = f"exit {code}\n{buf.getvalue()}{err.getvalue()}"


values = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*values*.yaml"))
for v in values:
    cli(f"render {v}", "render", v)
    cli(f"render {v} plugins", "render", v, "--plugins", "{}", "--docker", "--mount-artifacts-store",
        "--shm-size", "1Gi", "--log-level", "debug", "--external-host", "--external-api-host", "https://plx.example.com")
    cli(f"render {v} native sidecar", "render", v, "--plugins", "{}", "--sidecar-mode", "native")
    cli(f"env {v}", "env", v)
seed = "examples/seed-004-values.yaml"
cli("into job", "render", seed, "--data", "data1,data-s3", "--outputs", "outputs-foo", "--into", "examples/job.yaml",
    "--container", "trainer", "--validate", "1.30")
cli("download data", "render", seed, "--plugins", "{}", "--download-data", "data-s3:images=/data/images")
cli("sync-sidecar pod", "render", seed, "--post-renderer", "--into", "examples/sync-sidecar/pod.yaml")
stream = "---\n".join(Path(p).read_text() for p in ("examples/job.yaml", "examples/sync-sidecar/pod.yaml"))
cli("post-renderer", "render", seed, "--post-renderer", "--plugins", "{}", stdin=stream)
key = Path(os.environ["KEY_FILE"])
cli("secret", "secret", "s3-creds", "--store", "s3", "--from-file", str(key))

# the Python example, and apply_patch on client model objects
buf = io.StringIO()
sys.argv = ["render_job.py"]
code = 0
with contextlib.redirect_stdout(buf):
    try:
        runpy.run_path("examples/python-mounts/render_job.py", run_name="__main__")
    except SystemExit as exc:
        code = exc.code
out["python-mounts/render_job.py"] = f"exit {code}\n{buf.getvalue()}"

from kubernetes import client
from k8s import apply_patch, render_patch
from k8s.serialize import dump
from stores.catalog import Catalog
from stores.contract.runinfo import RunInfo

patch = render_patch(Catalog.from_file(seed), None, RunInfo(uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0"))
pod = client.V1Pod(api_version="v1", kind="Pod", metadata=client.V1ObjectMeta(name="p"),
                   spec=client.V1PodSpec(containers=[client.V1Container(name="app", image="busybox")]))
patched = apply_patch(pod, patch)
assert type(patched) is client.V1Pod
out["apply_patch(V1Pod)"] = "exit 0\n" + json.dumps(dump(patched), indent=1)

import kubernetes
print(json.dumps({"version": kubernetes.__version__, "pydantic": hasattr(client.V1Pod, "model_validate"),
                  "outputs": out}))
'''


#: what the k8s tests need besides the package (``test_k8s_tests_pass_on_the_oldest_client``)
TEST_TOOLS = ("pytest>=8", "pytest-timeout>=2.3", "hypothesis>=6.100", "jsonschema>=4.20")

#: the k8s tests that run again on the oldest client (the ones that need no bucket emulator)
K8S_TESTS = (
    "tests/k8s/test_k8s_render.py",
    "tests/k8s/test_render_spelled.py",
    "tests/k8s/test_k8s_volumes.py",
    "tests/k8s/test_k8s_secrets.py",
    "tests/k8s/test_k8s_checks.py",
    "tests/k8s/test_plugins.py",
    "tests/k8s/test_workload_kinds.py",
    "tests/k8s/test_postrender.py",
)


def oldest_client() -> str:
    """The lower bound of the ``k8s`` extra's ``kubernetes>=`` pin (pyproject.toml)."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^k8s = \[.*"kubernetes>=([0-9.]+)[,"]', text, re.M)
    assert match, "pyproject.toml: the k8s extra pins kubernetes>=X"
    return match.group(1)


def _old_venv(version: str) -> Path:
    """``.bench/k8s-client-<version>``: created once, rebuilt when pyproject.toml changes."""
    venv = ROOT / ".bench" / f"k8s-client-{version}"
    python = venv / "bin" / "python"
    stamp = venv / "stamp"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + version.encode()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(exist_ok=True)
    # the package (editable: always today's code), the client, and what the k8s tests import
    spec = [f"{ROOT}[k8s]", f"kubernetes=={version}.*", *TEST_TOOLS]
    uv = shutil.which("uv")
    if uv:
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=300)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), "-e", *spec], check=True, timeout=900)
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", *spec], check=True, timeout=900)
    stamp.write_text(want)
    return python


def _render(python: str | Path, tmp_path: Path) -> dict:
    script = tmp_path / "render_examples.py"
    script.write_text(RENDER_SCRIPT)
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "example-secret"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYAXON_", "STORES_", "PYTHONPATH"))}
    res = subprocess.run([str(python), str(script), str(ROOT)], capture_output=True, text=True, timeout=600,
                         env={**env, "KEY_FILE": str(key)}, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.splitlines()[-1])


@pytest.mark.timeout(1800)
def test_the_oldest_client_renders_the_examples_byte_for_byte(tmp_path):
    version = oldest_client()
    try:
        python = _old_venv(version)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:  # pragma: no cover
        pytest.fail(f"could not install kubernetes=={version} into .bench/: {exc}")
    old = _render(python, tmp_path)
    new = _render(sys.executable, tmp_path)
    assert old["version"].startswith(version) and not old["pydantic"]
    assert new["version"] != old["version"]
    assert set(old["outputs"]) == set(new["outputs"])
    for case, text in new["outputs"].items():
        assert text.startswith("exit 0\n"), f"{case}: {text[:500]}"
        assert old["outputs"][case] == text, f"{case}: the oldest client renders it differently"


@pytest.mark.timeout(1800)
def test_k8s_tests_pass_on_the_oldest_client():
    """CI runs the k8s tests once more, in the oldest client's virtualenv."""
    python = _old_venv(oldest_client())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYAXON_", "STORES_", "PYTHONPATH"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    res = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *K8S_TESTS],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=1700)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-2000:]


@pytest.mark.timeout(600)
def test_installs_next_to_kfp(tmp_path):
    """The latest kfp (``kubernetes>=8,<31``) and the ``k8s`` extra resolve together (a dry run:
    nothing is installed)."""
    uv = shutil.which("uv")
    if not uv:
        pytest.skip("needs uv for a dry-run resolution")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=120)
    res = subprocess.run([uv, "pip", "install", "--dry-run", "--python", str(venv / "bin" / "python"), "kfp>=2,<3",
                          f"{ROOT}[k8s]"], capture_output=True, text=True, timeout=500)
    assert res.returncode == 0, res.stderr
    client = re.search(r"\+ kubernetes==([0-9.]+)", res.stderr + res.stdout)
    assert client, res.stderr
    assert tuple(int(x) for x in client.group(1).split(".")[:2]) >= tuple(int(x) for x in oldest_client().split(".")[:2])
