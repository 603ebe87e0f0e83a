"""k8s._client: ``kubernetes.client`` without running ``kubernetes/__init__.py``, and a later
normal ``import kubernetes`` in the same process still gets the whole package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support.paths import ROOT


def run(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_render_does_not_run_kubernetes_init():
    out = run(
        "import sys\n"
        "from k8s import render_patch\n"
        "from stores.catalog import Catalog\n"
        "from stores.contract.runinfo import RunInfo\n"
        "c = Catalog.from_values({'connections': [{'name': 'd', 'kind': 'host_path', "
        "'schema': {'hostPath': '/mnt/d', 'mountPath': '/data/d'}}]})\n"
        "render_patch(c, None, RunInfo(uuid='u')).to_dict()\n"
        "print(sorted(m for m in ('kubernetes.config', 'kubernetes.watch', 'kubernetes.dynamic', 'google.auth') if m in sys.modules))"
    )
    assert out == "[]"


def test_later_import_kubernetes_is_complete():
    out = run(
        "import k8s._client, k8s.volumes\n"
        "import kubernetes\n"
        "from kubernetes import config, watch\n"
        "import kubernetes.client as kc\n"
        "assert kubernetes.client is kc is k8s._client.client\n"
        "assert callable(kubernetes.config.load_kube_config) and kubernetes.watch.Watch and kubernetes.stream\n"
        "assert kc.CoreV1Api and kc.V1Volume is k8s.volumes.V1Volume\n"
        "print(kubernetes.__version__ == kc.__version__, type(kubernetes).__name__)"
    )
    assert out == "True module"


def test_kubernetes_imported_first_is_used_as_is():
    out = run(
        "import kubernetes\n"
        "import k8s._client\n"
        "print(k8s._client.client is kubernetes.client, type(kubernetes).__name__)"
    )
    assert out == "True module"


def test_same_patch_either_way():
    """Byte-identical output whether or not the full package was imported first."""
    code = "import sys\n{pre}from stores.cli import main\nsys.argv = ['stores', 'render', '-o', 'json', '--shm', '--auth']\nmain()\n"
    light = run(code.format(pre=""))
    full = run(code.format(pre="import kubernetes\n"))
    assert light and light == full


def test_opening_a_bucket_outside_a_pod_does_not_import_the_models():
    """`stores cp/sync` outside a rendered pod (no POLYAXON_CONNECTIONS_CATALOG) never loads
    pydantic: it was 60-100 ms on every transfer command's start (found by the before/after
    transfer benchmark)."""
    out = run(
        "import os, sys\n"
        "os.environ.pop('POLYAXON_CONNECTIONS_CATALOG', None)\n"
        "os.environ.update(AWS_ACCESS_KEY_ID='k', AWS_SECRET_ACCESS_KEY='s', AWS_ENDPOINT_URL='http://127.0.0.1:9')\n"
        "from stores.handles import open_store\n"
        "import stores.transfer\n"
        "open_store('s3://some-bucket/p')\n"
        "print('pydantic' in sys.modules)\n"
    )
    assert out.strip().splitlines()[-1] == "False"
