"""Peer of the render case: Polyaxon 2.18's converter on the same connections (a script).

Runs in Polyaxon's own virtualenv (``.bench/polyaxon-venv``, made by ``run.sh``)::

    .bench/polyaxon-venv/bin/python bench/polyaxon_render.py CONNECTIONS.json

``CONNECTIONS.json`` holds the connections of the largest size in the current spelling
(``render_bench.connection``); the first N are used for size N.  Timed, per size and run, on
``V1Connection`` objects parsed beforehand (as ours are parsed into a ``Catalog`` beforehand):

- ``get_pod_volumes``: the pod's volumes (claims, host paths, mounted secrets),
- ``JobConverter._get_main_container``: the main container's mounts, env (connections catalog,
  secretKeyRef items) and envFrom,
- both turned into manifest dicts (``ApiClient.sanitize_for_serialization``), as ours are by
  ``PodPatch.to_dict()``.

A line-protocol worker (``_common.Worker``), so ``run_all.py`` can interleave its runs with ours:
prints ``{"ready": true}``, then for each line ``N`` on stdin times one conversion of the
first N connections and prints ``{"n", "seconds", "volumes", "env"}``.
Polyaxon's schema has no claim ``subPath`` and wants secret items as bare strings; the
equivalent connection drops the one and flattens the other.
"""

from __future__ import annotations

import gc
import json
import sys
import time


def polyaxon_spelling(conn: dict) -> dict:
    out = {"name": conn["name"], "kind": conn["kind"], "schema": dict(conn["schema"])}
    out["schema"].pop("subPath", None)
    secret = conn.get("secret")
    if secret:
        items = [i["key"] if isinstance(i, dict) else i for i in secret.get("items") or []]
        out["secret"] = {"name": secret["name"], "items": items or None}
        if secret.get("mountPath"):
            out["secret"]["mountPath"] = secret["mountPath"]
    return out


def main() -> None:
    path = sys.argv[1]
    with open(path) as fh:
        raw = [polyaxon_spelling(c) for c in json.load(fh)]

    from kubernetes.client import ApiClient
    from polyaxon import settings
    from polyaxon._connections import V1Connection
    from polyaxon._schemas.agent import AgentConfig
    from polyaxon._k8s import k8s_schemas
    from polyaxon._k8s.converter.converters.job import JobConverter
    from polyaxon._k8s.converter.pod.volumes import get_pod_volumes

    conns = [V1Connection.from_dict(c) for c in raw]
    # an agent with no connections of its own: the converter reads its defaults (secret names)
    settings.set_agent_config(AgentConfig(namespace="default", connections=[]))
    converter = JobConverter(owner_name="owner", project_name="project", run_name="bench", run_uuid="bench")
    api = ApiClient()

    def convert(n: int) -> tuple[list, dict]:
        chosen = conns[:n]
        names = [c.name for c in chosen]
        by_name = {c.name: c for c in chosen}
        volumes = get_pod_volumes(
            plugins=None, artifacts_store=None, init_connections=None, connections=names,
            connection_by_names=by_name, secrets=None, config_maps=None,
        )
        main = converter._get_main_container(
            container_id="main", main_container=k8s_schemas.V1Container(name="main"), plugins=None,
            artifacts_store=None, init=None, connections=list(names), connection_by_names=dict(by_name),
            secrets=None, config_maps=None, run_path="bench",
        )
        return api.sanitize_for_serialization(volumes), api.sanitize_for_serialization(main)

    convert(1)  # first-call costs (lazy imports) out of the figures
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:  # one size per line: one timed conversion, one JSON line back
        n = int(line)
        gc.collect()
        t0 = time.perf_counter()
        vols, main = convert(n)
        seconds = time.perf_counter() - t0
        print(json.dumps({"n": n, "seconds": seconds, "volumes": len(vols), "env": len(main.get("env") or [])}), flush=True)

if __name__ == "__main__":
    main()
