"""Generate a run's mounts in Python and patch them into a user's Job manifest.

Run from the repository top (needs the k8s extra: pip install ".[k8s]"):

    python3 examples/python-mounts/render_job.py > job-patched.yaml

What it does, step by step:
1. load the stores an admin declared (examples/seed-004-values.yaml, the legacy helm spelling);
2. select what this run asks for, as a polyaxonfile would (two data stores, one outputs store);
3. render the pod-spec patch for the run (volumes, mounts, env, the env contract);
4. apply it to the user's Job (examples/job.yaml), main container "trainer";
5. validate the result against the Kubernetes 1.30 schemas and print it as YAML.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from k8s import apply_patch, render_patch, validate_manifest
from stores import Catalog, RunInfo, RunRequest

EXAMPLES = Path(__file__).resolve().parent.parent


def patched_job(values: Path, job: Path) -> dict[str, Any]:
    catalog = Catalog.from_file(values)
    request = RunRequest.from_polyaxonfile(
        {"environment": {"persistence": {"data": ["data1", "data-s3"], "outputs": "outputs-foo"}}}
    )
    run = RunInfo(uuid="8a4c5f3e0b2d4e6f9a1b2c3d4e5f6a7b", owner="vision", project="resnet", name="train")
    patch = render_patch(catalog, request, run)
    manifest = yaml.safe_load(job.read_text())
    out: dict[str, Any] = apply_patch(manifest, patch, container="trainer")
    validate_manifest(out, "1.30")
    return out


def main() -> int:
    job = patched_job(EXAMPLES / "seed-004-values.yaml", EXAMPLES / "job.yaml")
    yaml.safe_dump(job, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
