"""Rendered containers run as real processes: a sandbox standing in for the pod (its volumes as
folders, the rendered env and command as they are), and the catalog those tests render."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from k8s import render_patch
from k8s.plugins import download_data
from stores.catalog import Catalog
from support.k8s import RUN
from support.servers import s3_client

__all__ = ["STORES", "Sandbox", "catalog_for", "keys", "rendered"]

STORES = str(Path(sys.executable).parent / "stores")


def catalog_for(artifacts_bucket: str, data_bucket: str) -> Catalog:
    return Catalog.from_values({
        "artifactsStore": {"name": "artifacts", "kind": "s3", "schema": {"bucket": f"s3://{artifacts_bucket}"},
                           "secret": {"name": "artifacts-creds", "mountPath": "/plx-secrets/artifacts"}},
        "connections": [{"name": "data-s3", "kind": "s3", "schema": {"bucket": f"s3://{data_bucket}/sets"},
                         "secret": {"name": "s3-creds", "items": [{"key": "key.json", "path": "key.json"}],
                                    "mountPath": "/plx-secrets/data-s3"}}],
    })


def rendered(catalog: Catalog, name: str, plugins: dict | None = None, downloads: tuple[str, ...] = ()) -> dict:
    out = render_patch(catalog, None, RUN, plugins=plugins if plugins is not None else {"collectLogs": False},
                       extensions=[download_data(downloads)] if downloads else ()).to_dict()
    spec = out["spec"]
    # a copy into the pod is named polyaxon-init-artifacts-<store>-<hash>: a name ending in '-' is a prefix
    return next(c for c in [*spec.get("initContainers", []), *spec["containers"]]
                if c["name"] == name or (name.endswith("-") and c["name"].startswith(name)))


class Sandbox:
    """Where a container's paths land on this machine."""

    def __init__(self, root: Path, server) -> None:
        self.context = root / "plx-context"
        self.secrets = root / "secrets"
        self.context.mkdir()
        # what the Secrets hold: moto accepts any key pair, these are placeholders
        key = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1"}
        for name in ("artifacts", "data-s3"):
            path = self.secrets / "plx-secrets" / name / "key.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(key))

    def local(self, path: str) -> Path:
        return self.context / os.path.relpath(path, "/plx-context")

    def argv(self, container: dict) -> list[str]:
        argv = list(container["command"])
        assert argv[0] == "stores"
        return [STORES] + [str(self.local(a)) if a.startswith("/plx-context") else a for a in argv[1:]]

    def env(self, container: dict) -> dict[str, str]:
        env = {v["name"]: v["value"] for v in container.get("env", []) if "value" in v}
        assert not [v for v in container.get("env", []) if "value" not in v], "the test only knows literal env"
        home = self.context.parent / "home"
        home.mkdir(exist_ok=True)
        env.update(HOME=str(home), TMPDIR=str(home), PATH=os.environ.get("PATH", ""), STORES_SECRETS_ROOT=str(self.secrets))
        return env


def keys(server, bucket: str, prefix: str = "") -> dict[str, bytes]:
    client = s3_client(server)
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            out[obj["Key"][len(prefix):]] = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out
