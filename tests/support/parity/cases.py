"""The differential cases: one helm values document, one run, one plugins mapping each.

Every case is plain JSON, fed unchanged to Polyaxon 2.18's converter (``polyaxon_oracle.py``) and
to ours (``ours.py``).  Connections are written in Polyaxon's own spelling (bare-string secret
items, ``defaultMode`` as a string) so that Polyaxon accepts them; we accept the same spelling.
"""

from __future__ import annotations

import itertools
from typing import Any

__all__ = ["CASES", "case_ids"]

UUID = "f0e1d2c3b4a5968778695a4b3c2d1e0f"


def _host(name: str, mount: str = None, read_only: bool | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"hostPath": f"/srv/{name}", "mountPath": mount or f"/mnt/{name}"}
    if read_only is not None:
        schema["readOnly"] = read_only
    return {"name": name, "kind": "host_path", "schema": schema}


def _claim(name: str, read_only: bool | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"volumeClaim": f"pvc-{name}", "mountPath": f"/mnt/{name}"}
    if read_only is not None:
        schema["readOnly"] = read_only
    return {"name": name, "kind": "volume_claim", "schema": schema}


_BUCKETS = {
    "s3": "s3://bucket-{}",
    "gcs": "gs://bucket-{}",
    "wasb": "wasbs://container@account{}.blob.core.windows.net/",
}


def _bucket(kind: str, name: str, secret: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    url = _BUCKETS[kind].format(name.replace("-", "").replace("_", "")[:8] if kind == "wasb" else name.replace("_", "-"))
    conn: dict[str, Any] = {"name": name, "kind": kind, "schema": {"bucket": url}}
    if secret is not None:
        conn["secret"] = secret
    conn.update(extra)
    return conn


#: the ways a connection's secret is given, Polyaxon's spelling
SECRET_SHAPES: dict[str, Any] = {
    "envfrom": lambda n: {"name": f"{n}-creds"},
    "items-env": lambda n: {"name": f"{n}-creds", "items": ["ACCESS_KEY", "SECRET_KEY"]},
    "mounted": lambda n: {"name": f"{n}-creds", "mountPath": f"/etc/{n}"},
    "mounted-items": lambda n: {"name": f"{n}-creds", "mountPath": f"/etc/{n}", "items": ["key.json"]},
    "mounted-mode": lambda n: {"name": f"{n}-creds", "mountPath": f"/etc/{n}", "defaultMode": "0400"},
}
GCS_SECRET_SHAPES: dict[str, Any] = {
    "gc-secret": lambda n: {"name": f"{n}-creds", "mountPath": "/plx-secrets/gcs", "items": ["gc-secret.json"]},
    "mounted": lambda n: {"name": f"{n}-creds", "mountPath": f"/etc/{n}"},
    "envfrom": lambda n: {"name": f"{n}-creds"},
    "items-env": lambda n: {"name": f"{n}-creds", "items": ["GC_KEY"]},
}
CONFIG_MAP_SHAPES: dict[str, Any] = {
    "envfrom": lambda n: {"name": f"{n}-config"},
    "items-env": lambda n: {"name": f"{n}-config", "items": ["REGION", "ENDPOINT"]},
    "mounted": lambda n: {"name": f"{n}-config", "mountPath": f"/etc/{n}-config"},
    "mounted-items": lambda n: {"name": f"{n}-config", "mountPath": f"/etc/{n}-config", "items": ["REGION"]},
}

STORES = {
    "host": _host("store", "/artifacts"),
    "claim": _claim("store"),
    "s3": _bucket("s3", "store", {"name": "store-creds"}),
    "gcs": _bucket("gcs", "store", {"name": "store-creds", "mountPath": "/plx-secrets/gcs", "items": ["gc-secret.json"]}),
    "wasb": _bucket("wasb", "store", {"name": "store-creds", "items": ["AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY"]}),
}


def _case(cid: str, connections: list[dict[str, Any]], run: list[str] | None = None, *,
          store: str | None = "host", plugins: dict[str, Any] | None = None,
          init: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"connections": connections}
    if store is not None:
        values["artifactsStore"] = STORES[store]
    return {
        "id": cid,
        "uuid": UUID,
        "values": values,
        "run": {"connections": [c["name"] for c in connections] if run is None else run, "init": init or []},
        "plugins": plugins or {},
    }


def _cases() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    add = out.append
    # volumes, one kind at a time
    for ro in (None, True, False):
        add(_case(f"host-ro-{ro}", [_host("data1", read_only=ro)]))
        add(_case(f"claim-ro-{ro}", [_claim("data1", read_only=ro)]))
    # buckets x secret shapes
    for kind in ("s3", "wasb"):
        for shape, make in SECRET_SHAPES.items():
            add(_case(f"{kind}-{shape}", [_bucket(kind, "data1", make("data1"))]))
        add(_case(f"{kind}-no-secret", [_bucket(kind, "data1")]))
    for shape, make in GCS_SECRET_SHAPES.items():
        add(_case(f"gcs-{shape}", [_bucket("gcs", "data1", make("data1"))]))
    # config maps
    for shape, make in CONFIG_MAP_SHAPES.items():
        add(_case(f"s3-configmap-{shape}", [_bucket("s3", "data1", {"name": "data1-creds"}, configMap=make("data1"))]))
    # a connection's own env
    add(_case("s3-env", [_bucket("s3", "data1", {"name": "data1-creds"}, env=[["AWS_REGION", "eu-west-1"]])]))
    add(_case("host-env", [{**_host("data1"), "env": {"DATA_FORMAT": "parquet"}}]))
    # what Polyaxon renders into an invalid or unsafe pod, and we refuse
    add(_case("refused-env-clash", [_bucket("s3", "d1", {"name": "c1"}, env=[["AWS_REGION", "eu-west-1"]]),
                                    _bucket("s3", "d2", {"name": "c2"}, env=[["AWS_REGION", "us-east-1"]])]))
    add(_case("refused-mount-clash", [_host("d1", "/data"), _claim("d2") | {"schema": {"volumeClaim": "pvc", "mountPath": "/data"}}]))
    add(_case("refused-host-etc", [{"name": "etc", "kind": "host_path", "schema": {"hostPath": "/etc", "mountPath": "/host-etc"}}]))
    add(_case("secret-named-like-connection", [_host("creds"), _bucket("s3", "d1", {"name": "creds", "mountPath": "/etc/aws"})]))
    # several connections
    add(_case("mixed-4", [_host("data1"), _claim("data2", True), _bucket("s3", "data3", {"name": "s3-creds"}),
                          _bucket("gcs", "data4", {"name": "gcs-creds", "mountPath": "/etc/gcs", "items": ["gc-secret.json"]})]))
    add(_case("shared-gcs-secret", [
        _bucket("gcs", "ds1", {"name": "gcs-creds", "mountPath": "/plx-secrets/gcs", "items": ["gc-secret.json"]}),
        _bucket("gcs", "ds2", {"name": "gcs-creds", "mountPath": "/plx-secrets/gcs", "items": ["gc-secret.json"]}),
    ]))
    add(_case("shared-s3-secret-envfrom", [_bucket("s3", "ds1", {"name": "aws"}), _bucket("s3", "ds2", {"name": "aws"})]))
    add(_case("subset-selected", [_host("data1"), _claim("data2"), _bucket("s3", "data3", {"name": "c3"})], run=["data2"]))
    add(_case("none-selected", [_host("data1"), _claim("data2")], run=[]))
    unnamed = _case("run-names-no-connections", [_host("data1"), _claim("data2")])
    del unnamed["run"]["connections"]
    add(unnamed)
    add(_case("names-polyaxon-accepts", [_host("test_data"), _claim("data.v1"), _bucket("s3", "test_s3", {"name": "s3c"})]))
    # non-storage connections in the same file
    git = {"name": "repo", "kind": "git", "schema": {"url": "https://github.com/org/repo"}, "secret": {"name": "git-token"}}
    registry = {"name": "docker-hub", "kind": "registry", "schema": {"url": "docker.io"},
                "secret": {"name": "docker-conf", "mountPath": "/kaniko/.docker"}}
    slack = {"name": "slack", "kind": "slack", "secret": {"name": "slack-hook", "items": ["SLACK_WEBHOOK"]}}
    custom = {"name": "mydb", "kind": "postgres", "configMap": {"name": "db-config"}, "env": [["DB_PORT", "5432"]]}
    add(_case("other-kinds-unselected", [_host("data1"), git, registry, slack, custom], run=["data1"]))
    add(_case("other-kinds-selected", [_host("data1"), git, registry, slack, custom]))
    add(_case("git-only", [git]))
    # the artifacts store under each plugin setting
    plugin_sets = {
        "default": {},
        "mount-store": {"mountArtifactsStore": True},
        "no-collect": {"collectArtifacts": False},
        "no-collect-no-logs": {"collectArtifacts": False, "collectLogs": False},
        "logs-only": {"collectArtifacts": False, "collectLogs": True},
        "no-resume": {"autoResume": False},
    }
    for (store, _), (pname, plugins) in itertools.product(STORES.items(), plugin_sets.items()):
        add(_case(f"store-{store}-{pname}", [_host("data1")], store=store, plugins=plugins))
    add(_case("store-selected-by-run", [_host("data1")], run=["data1", "store"], store="s3"))
    # utility plugins
    add(_case("shm-off", [_host("data1")], plugins={"shm": False}))
    add(_case("docker-on", [_host("data1")], plugins={"docker": True}))
    add(_case("auth-off", [_host("data1")], plugins={"auth": False}))
    add(_case("all-off", [_host("data1")], plugins={"auth": False, "shm": False, "collectArtifacts": False,
                                                     "collectLogs": False, "collectResources": False, "autoResume": False}))
    # init: downloads into the context
    add(_case("init-s3", [_bucket("s3", "data1", {"name": "c1"})], run=[], init=[{"connection": "data1", "paths": ["train"]}]))
    add(_case("init-s3-selected", [_bucket("s3", "data1", {"name": "c1"})], init=[{"connection": "data1", "paths": ["train"]}]))
    add(_case("init-gcs-mounted-key", [_bucket("gcs", "data1", {"name": "g1", "mountPath": "/plx-secrets/gcs", "items": ["gc-secret.json"]})],
              run=[], init=[{"connection": "data1"}]))
    add(_case("init-claim", [_claim("data1")], run=[], init=[{"connection": "data1", "paths": ["a", "b"]}]))
    add(_case("init-host", [_host("data1")], run=[], init=[{"connection": "data1"}]))
    add(_case("init-custom-path", [_bucket("s3", "data1", {"name": "c1"})], run=[],
              init=[{"connection": "data1", "path": "/data/train"}]))
    add(_case("init-store-default", [_host("data1")], run=[], store="s3", init=[{"connection": "store", "paths": ["prev-run"]}]))
    add(_case("init-two", [_bucket("s3", "d1", {"name": "c1"}), _bucket("wasb", "d2", {"name": "c2"})], run=[],
              init=[{"connection": "d1"}, {"connection": "d2", "paths": ["x"]}]))
    add(_case("init-no-collect", [_bucket("s3", "data1", {"name": "c1"})], run=[], init=[{"connection": "data1"}],
              plugins={"collectArtifacts": False}))
    return out


CASES: list[dict[str, Any]] = _cases()


def case_ids() -> list[str]:
    return [c["id"] for c in CASES]
