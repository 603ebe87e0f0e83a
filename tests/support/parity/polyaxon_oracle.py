"""Polyaxon 2.18's converter as a test oracle (a script run in Polyaxon's own virtualenv).

    .bench/polyaxon-venv/bin/python tests/support/parity/polyaxon_oracle.py < cases.json > results.json

stdin: a JSON list of cases ``{"id", "values": {"artifactsStore"?, "connections"?},
"run": {"connections": [names], "init": [V1Init mappings]}, "plugins": {V1Plugins mapping}}``.
stdout: a JSON object ``{id: result}``; a result is either ``{"error": "..."}`` (Polyaxon refused
the input or crashed) or the storage-related part of the pod Polyaxon renders for a job::

    {"volumes": [...], "main": {"volumeMounts", "env", "envFrom"},
     "init": [{"name", "volumeMounts", "env", "envFrom"}], "sidecars": [{...}]}

The converter is called the way Polyaxon's agent calls it (``JobConverter.get_replica_resource``
with the agent's artifacts store always in ``connection_by_names`` and every secret / config map
of the agent's connections offered), so what comes out is what a Polyaxon 2.18 agent deploys.
"""

from __future__ import annotations

import json
import sys
import traceback


def main() -> None:
    cases = json.load(sys.stdin)

    from kubernetes.client import ApiClient
    from polyaxon import settings
    from polyaxon._auxiliaries import get_default_init_container, get_default_sidecar_container
    from polyaxon._connections import V1Connection
    from polyaxon._flow.init import V1Init
    from polyaxon._flow.plugins import V1Plugins
    from polyaxon._k8s import k8s_schemas
    from polyaxon._k8s.converter.converters.job import JobConverter
    from polyaxon._schemas.agent import AgentConfig

    api = ApiClient()
    out = {}
    for case in cases:
        try:
            values = case.get("values") or {}
            store = values.get("artifactsStore")
            conns = [V1Connection.from_dict(c) for c in values.get("connections") or []]
            store_conn = V1Connection.from_dict(store) if store else None
            agent = AgentConfig(
                namespace="default",
                artifacts_store=store_conn,
                connections=conns,
            )
            settings.set_agent_config(agent)
            run = case.get("run") or {}
            by_name = {}
            if store_conn is not None:
                by_name[store_conn.name] = store_conn
            catalog = {c.name: c for c in conns}
            if store_conn is not None:
                catalog.setdefault(store_conn.name, store_conn)
            requested = list(run.get("connections") or [])
            init = [V1Init.from_dict(i) for i in run.get("init") or []]
            for name in requested + [i.connection for i in init if i.connection]:
                by_name[name] = catalog[name]
            plugins = V1Plugins.get_or_create(
                V1Plugins.from_dict(case["plugins"]) if case.get("plugins") else None, auth=True
            )
            converter = JobConverter(
                owner_name="owner", project_name="project", run_name="run",
                run_uuid=case.get("uuid", "f0e1d2c3b4a5968778695a4b3c2d1e0f"),
                polyaxon_sidecar=get_default_sidecar_container(),
                polyaxon_init=get_default_init_container(),
            )
            spec = converter.get_replica_resource(
                plugins=plugins, environment=None, volumes=None, init=init, sidecars=None,
                container=k8s_schemas.V1Container(name="polyaxon-main", image="busybox"),
                artifacts_store=store_conn, connections=requested, connection_by_names=by_name,
                secrets=agent.secrets, config_maps=agent.config_maps, kv_env_vars=None,
            )

            def part(c):
                d = api.sanitize_for_serialization(c)
                return {k: d.get(k) or [] for k in ("name", "volumeMounts", "env", "envFrom")}

            out[case["id"]] = {
                "volumes": api.sanitize_for_serialization(spec.volumes) or [],
                "main": part(spec.main_container),
                "init": [part(c) for c in spec.init_containers or []],
                "sidecars": [part(c) for c in spec.sidecar_containers or []],
            }
        except Exception as exc:  # noqa: BLE001 - the oracle reports what Polyaxon did
            out[case["id"]] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
