"""Our render of a differential case, and its comparison with Polyaxon 2.18's (field by field).

``ours(case)`` renders a case (``cases.py``) through the public API, into the same shape as
``polyaxon_oracle.py`` prints.  ``differences(poly, ours)`` compares the two and returns
``Difference`` records; each carries the code of the row of the intended-differences table
(``INTENDED``, the same table as ``docs/reference/polyaxon-differences.md``) that explains it, or
``None`` when nothing does: a ``None`` is a parity bug.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["INTENDED", "Difference", "ours", "differences", "normalise"]

#: code -> (what differs, why): every difference the suite accepts, and nothing else
INTENDED: dict[str, tuple[str, str]] = {
    "items-objects": (
        "secret / config map volume items are `{key, path}` objects",
        "Polyaxon writes bare strings, which the API server refuses",
    ),
    "default-mode-int": (
        "`defaultMode: \"0400\"` is written as the integer 256",
        "Polyaxon passes the string on, which the API server refuses",
    ),
    "paths-normalised": (
        "mount and host paths are written normalised (`/root/.aws/` as `/root/.aws`)",
        "one spelling per path, so that two mounts of one path are caught before the API server",
    ),
    "connection-env": (
        "a connection's `env` (a mapping or `[name, value]` pairs) becomes one env var per entry",
        "Polyaxon writes a mapping as one invalid env entry and drops pairs",
    ),
    "auth-context": (
        "no `configs-context` volume and no `polyaxon-init-auth` container; with `auth` on, "
        "`POLYAXON_AUTH_TOKEN` comes from a Secret (`secretKeyRef`)",
        "the token file is Polyaxon's agent's business; a storage toolkit passes the token only",
    ),
    "service-env": (
        "Polyaxon's service variables (`POLYAXON_K8S_*`, `POLYAXON_HOST`, `POLYAXON_HEADER*`, "
        "`POLYAXON_RUN_INSTANCE` in its own spelling, `NVIDIA_VISIBLE_DEVICES`, ...) are not written",
        "they belong to Polyaxon's API client and scheduler, not to storage",
    ),
    "contract-env": (
        "the env contract is added: `POLYAXON_RUN_DATA_PATHS`, `POLYAXON_RUN_OUTPUTS_PATH`, "
        "`POLYAXON_RUN_UUID`, `POLYAXON_CONTEXT_PATH`, ... (and `POLYAXON_RUN_INSTANCE`)",
        "the documented run contract (persistence docs) that in-run code reads",
    ),
    "key-file-env": (
        "`POLYAXON_CONNECTION_<NAME>_KEY_FILE` and, for GCS, `GOOGLE_APPLICATION_CREDENTIALS` point "
        "at the mounted key file",
        "Polyaxon never points the SDKs at the mounted key, so they fall back to the metadata server",
    ),
    "toolkit-containers": (
        "init containers and the sidecar run the toolkit image with a writable `/tmp` emptyDir "
        "(`plx-toolkit-tmp`), the store's credentials and `POLYAXON_RUN_DATA_PATHS`",
        "read-only root filesystem; the `stores` command finds its store by name",
    ),
    "native-sidecar": (
        "for Kubernetes 1.29 and later (the default `--kube-version` 1.37) `polyaxon-sidecar` is a "
        "native sidecar: the last init container, with `restartPolicy: Always`",
        "Kubernetes stops it once the main container ended, after its last sync, so a Job "
        "completes; Polyaxon 2.18's sidecar container keeps a Job running",
    ),
    "artifacts-init": (
        "`polyaxon-init-artifacts-default` only creates the run's folders (no store access); "
        "restoring a resumed run is `polyaxon-init-artifacts-resume`, which has the store",
        "least privilege: only the container that reads the store gets its credentials",
    ),
    "logs-from-files": (
        "with `collectLogs` (and `collectArtifacts` off) the artifacts context is still mounted on "
        "the main container and the sidecar, and created by `polyaxon-init-artifacts-default`",
        "the sidecar uploads the run's `logs` folder; Polyaxon's reads container logs from the "
        "API server instead, which a storage toolkit does not",
    ),
    "docker-socket-type": (
        "the docker socket volume has `type: Socket`",
        "the kubelet then refuses to mount anything but a socket there",
    ),
    "derived-volume-name": (
        "a connection name that is not a DNS-1123 label (`test_data`, `data.v1`) names its volume "
        "`<folded name>-<8 hex>`",
        "Polyaxon uses the name as it is, which the API server refuses as a volume name",
    ),
    "renamed-clashing-volume": (
        "a secret or config map volume whose name another volume of the pod holds is named "
        "`<name>-secret` / `<name>-config` (then with a hash); store volumes keep their names",
        "Polyaxon writes two volumes under one name, which the API server refuses",
    ),
    "refused-mount-clash": (
        "two connections mounted on one path are refused (`two mounts on PATH`)",
        "Polyaxon writes both mounts, which the API server refuses",
    ),
    "refused-env-clash": (
        "two connections giving one env var different values are refused (`has two sources`)",
        "Polyaxon keeps the last one silently",
    ),
    "refused-host-path": (
        "a hostPath on the deny list (`/`, `/etc`, `/proc`, `/sys`, the docker socket) is refused "
        "unless allowed explicitly",
        "it hands the node to the run",
    ),
    "collect-resources-env": (
        "`POLYAXON_COLLECT_RESOURCES` is written when on (as Polyaxon) and also as `false` when off",
        "an explicit off survives a tracking client whose default is on",
    ),
}

#: Polyaxon's service variables (``service-env``)
_SERVICE_ENV = re.compile(
    r"^(POLYAXON_K8S_.*|POLYAXON_HOST|POLYAXON_IS_MANAGED|POLYAXON_API_VERSION|POLYAXON_HEADER.*|"
    r"POLYAXON_AUTHENTICATION_TYPE|POLYAXON_RUN_INSTANCE|NVIDIA_VISIBLE_DEVICES|POLYAXON_CONTAINER_ID|"
    r"POLYAXON_LOG_LEVEL)$"
)
_CONTRACT_ENV = re.compile(
    r"^POLYAXON_(RUN_(DATA_PATHS|OUTPUTS_PATH|UUID|NAME|INSTANCE|OWNER|PROJECT|ARTIFACTS_PATH|INPUTS)|CONTEXT_PATH)$"
)
_KEY_FILE_ENV = re.compile(r"^(POLYAXON_CONNECTION_.*_KEY_FILE|GOOGLE_APPLICATION_CREDENTIALS)$")
_RANDOM_SUFFIX = re.compile(r"-[0-9a-f]{10}$")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DERIVED = re.compile(r"-[0-9a-f]{8}$")


#: our refusals of input Polyaxon renders into an invalid or unsafe pod: message -> code
_REFUSALS = (
    (r"^RenderError: two mounts on ", "refused-mount-clash"),
    (r"^RenderError: env var \S+ of .* has two sources", "refused-env-clash"),
    (r"^RenderError: hostPath \S+ of volume .* is not allowed", "refused-host-path"),
    # refused when loading the values, as `stores validate` does (stores.policy)
    (r"^ValuesError: 1 problem found:\n  \S+hostPath: hostPath \S+ is not allowed", "refused-host-path"),
)


@dataclass(frozen=True)
class Difference:
    where: str  # "volumes", "main.env", "init[polyaxon-init-artifacts-data1]", ...
    detail: str
    code: str | None  # a key of INTENDED, or None: not explained

    def __str__(self) -> str:
        return f"{self.where}: {self.detail} [{self.code or 'UNEXPLAINED'}]"


# -- ours ------------------------------------------------------------------------------------


def ours(case: dict[str, Any]) -> dict[str, Any]:
    """Our pod for the case, in the oracle's shape (``{"error": ...}`` when we refuse it)."""
    from k8s import render_patch
    from stores.catalog import Catalog
    from stores.errors import StoresError
    from stores.contract.runinfo import RunInfo

    try:
        catalog = Catalog.from_values(case["values"])
        run = RunInfo(uuid=case["uuid"], owner="owner", project="project", name="run")
        polyaxonfile = {"run": {"kind": "job", **case["run"]}}
        patch = render_patch(catalog, polyaxonfile, run, plugins=case.get("plugins") or {})
        doc = patch.to_dict()
    except StoresError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    spec = doc["spec"]

    def part(c: dict[str, Any]) -> dict[str, Any]:
        return {k: c.get(k) or [] for k in ("name", "volumeMounts", "env", "envFrom")}

    return {
        "volumes": spec.get("volumes") or [],
        "main": part(spec["containers"][0]),
        "init": [part(c) for c in spec.get("initContainers") or []],
        "sidecars": [part(c) for c in spec["containers"][1:]],
    }


# -- normalising -------------------------------------------------------------------------------


def _items(items: Any) -> Any:
    if not items:
        return None
    return [{"key": i, "path": i} if isinstance(i, str) else i for i in items]


def _volume_source(volume: dict[str, Any]) -> dict[str, Any]:
    src = {k: v for k, v in volume.items() if k != "name"}
    if "hostPath" in src:
        src["hostPath"] = {**src["hostPath"], "path": _path(src["hostPath"]["path"])}
    for kind in ("secret", "configMap"):
        if kind in src:
            body = dict(src[kind])
            if body.get("items") is not None:
                body["items"] = _items(body["items"])
            if isinstance(body.get("defaultMode"), str):
                body["defaultMode"] = int(body["defaultMode"], 8)
            src[kind] = {k: v for k, v in body.items() if v is not None}
    if "persistentVolumeClaim" in src:
        src["persistentVolumeClaim"] = {k: v for k, v in src["persistentVolumeClaim"].items() if v is not None and v is not False}
    return src


def _path(path: str) -> str:
    return "/" + posixpath.normpath(path).lstrip("/")


def _mounts(mounts: list[dict[str, Any]]) -> dict[str, tuple[str, bool]]:
    return {_path(m["mountPath"]): (m["name"], bool(m.get("readOnly"))) for m in mounts}


def _unnormalised_paths(result: dict[str, Any]) -> bool:
    containers = [result["main"], *result["init"], *result["sidecars"]]
    paths = [m["mountPath"] for c in containers for m in c["volumeMounts"]]
    paths += [v["hostPath"]["path"] for v in result["volumes"] if "hostPath" in v]
    return any(p != _path(p) for p in paths)


def _catalog(value: str) -> dict[str, Any]:
    doc = json.loads(value)
    out = {}
    for conn in doc.get("connections") or []:
        conn = dict(conn)
        env = conn.pop("env", None)
        if isinstance(env, dict):
            env = [[k, v] for k, v in env.items()]
        if env:
            conn["env"] = {k: v for k, v in env}
        for key in ("secret", "configMap"):
            if key in conn:
                res = dict(conn[key])
                res["items"] = _items(res.get("items"))
                if isinstance(res.get("defaultMode"), str):
                    res["defaultMode"] = int(res["defaultMode"], 8)
                conn[key] = {k: v for k, v in res.items() if v is not None}
        schema = conn.get("schema")
        if isinstance(schema, dict) and isinstance(schema.get("bucket"), str):
            conn["schema"] = {**schema, "bucket": schema["bucket"].rstrip("/")}
        out[conn["name"]] = conn
    return out


def _env(env: list[Any]) -> tuple[dict[str, Any], list[Any]]:
    """``(name -> definition, entries that are not env vars)``."""
    good: dict[str, Any] = {}
    bad: list[Any] = []
    for entry in env:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str) and set(entry) <= {"name", "value", "valueFrom"}:
            if entry["name"] == "POLYAXON_CONNECTIONS_CATALOG":
                good[entry["name"]] = _catalog(entry["value"])
            else:
                good[entry["name"]] = entry.get("valueFrom", entry.get("value"))
        else:
            bad.append(entry)
    return good, bad


def _container_key(name: str) -> str:
    return _RANDOM_SUFFIX.sub("", name)


def normalise(result: dict[str, Any]) -> dict[str, Any]:
    def container(c: dict[str, Any]) -> dict[str, Any]:
        env, bad = _env(c["env"])
        return {
            "mounts": _mounts(c["volumeMounts"]),
            "env": env,
            "bad_env": bad,
            "envFrom": sorted(json.dumps(e, sort_keys=True) for e in c["envFrom"]),
        }

    return {
        "volumes": {v["name"]: _volume_source(v) for v in result["volumes"]},
        "raw_volumes": result["volumes"],
        "main": container(result["main"]),
        "init": {_container_key(c["name"]): container(c) for c in result["init"]},
        "sidecars": {c["name"]: container(c) for c in result["sidecars"]},
    }


# -- comparing --------------------------------------------------------------------------------


def _raw_volume_codes(poly_raw: list[dict[str, Any]]) -> set[str]:
    codes = set()
    for v in poly_raw:
        for kind in ("secret", "configMap"):
            body = v.get(kind) or {}
            if any(isinstance(i, str) for i in body.get("items") or []):
                codes.add("items-objects")
            if isinstance(body.get("defaultMode"), str):
                codes.add("default-mode-int")
    return codes


def _env_code(name: str, side: str, case: dict[str, Any]) -> str | None:
    if side == "polyaxon" and _SERVICE_ENV.match(name):
        return "service-env"
    if side == "ours":
        if _CONTRACT_ENV.match(name):
            return "contract-env"
        if _KEY_FILE_ENV.match(name):
            return "key-file-env"
        if name == "POLYAXON_AUTH_TOKEN":
            return "auth-context"
        if name == "POLYAXON_COLLECT_RESOURCES":
            return "collect-resources-env"
        if name in _connection_env_names(case):
            return "connection-env"
    return None


def _connection_env_names(case: dict[str, Any]) -> set[str]:
    names = set()
    values = case["values"]
    for conn in [values.get("artifactsStore") or {}, *(values.get("connections") or [])]:
        env = conn.get("env")
        if isinstance(env, dict):
            names |= set(env)
        elif isinstance(env, list):
            names |= {e[0] for e in env if isinstance(e, (list, tuple))}
    return names


def _compare_container(where: str, p: dict[str, Any], o: dict[str, Any], case: dict[str, Any],
                       toolkit: bool, out: list[Difference]) -> None:
    for path in sorted(set(p["mounts"]) | set(o["mounts"])):
        pm, om = p["mounts"].get(path), o["mounts"].get(path)
        if pm == om:
            continue
        code = None
        if pm is not None and pm[0] == "configs-context":
            code = "auth-context"
        elif pm is not None and om is not None and not _LABEL.fullmatch(pm[0]) and _DERIVED.search(om[0]):
            code = "derived-volume-name"
        elif pm is None and om is not None and om[0] == "artifacts-context" and _logs_only(case):
            code = "logs-from-files"
        elif pm is None and toolkit and om is not None and (om[0] == "plx-toolkit-tmp" or path.startswith("/plx-secrets") or path.startswith("/etc/")):
            code = "toolkit-containers"
        out.append(Difference(f"{where}.volumeMounts[{path}]", f"polyaxon {pm} vs ours {om}", code))
    for name in sorted(set(p["env"]) | set(o["env"])):
        pe, oe = p["env"].get(name), o["env"].get(name)
        if pe == oe:
            continue
        if pe is not None and oe is not None:
            code = "collect-resources-env" if name == "POLYAXON_COLLECT_RESOURCES" else None
            code = "service-env" if _SERVICE_ENV.match(name) else code
            out.append(Difference(f"{where}.env[{name}]", f"polyaxon {pe!r} vs ours {oe!r}", code))
            continue
        side = "polyaxon" if oe is None else "ours"
        code = _env_code(name, side, case)
        if code is None and toolkit and side == "ours" and name in ("HOME", "TMPDIR", "POLYAXON_CONNECTIONS_CATALOG", "POLYAXON_ARTIFACTS_STORE_NAME"):
            code = "toolkit-containers"
        if code is None and toolkit and side == "ours":
            code = "toolkit-containers" if name in _credential_env_names(case) else None
        out.append(Difference(f"{where}.env[{name}]", f"only in {side}: {pe if oe is None else oe!r}", code))
    if p["bad_env"]:
        out.append(Difference(f"{where}.env", f"polyaxon writes entries that are not env vars: {p['bad_env']!r}", "connection-env"))
    if p["envFrom"] != o["envFrom"]:
        code = "toolkit-containers" if toolkit and set(p["envFrom"]) <= set(o["envFrom"]) else None
        out.append(Difference(f"{where}.envFrom", f"polyaxon {p['envFrom']} vs ours {o['envFrom']}", code))


def _logs_only(case: dict[str, Any]) -> bool:
    plugins = case.get("plugins") or {}
    return plugins.get("collectArtifacts") is False and plugins.get("collectLogs", True) is not False


def _credential_env_names(case: dict[str, Any]) -> set[str]:
    """Env vars a connection's secret / config map items give (toolkit containers carry them)."""
    names = set()
    values = case["values"]
    for conn in [values.get("artifactsStore") or {}, *(values.get("connections") or [])]:
        for key in ("secret", "configMap"):
            res = conn.get(key) or {}
            names |= {i for i in res.get("items") or [] if isinstance(i, str)}
    return names


def differences(case: dict[str, Any], poly: dict[str, Any], mine: dict[str, Any]) -> list[Difference]:
    if "error" in poly or "error" in mine:
        if "error" in poly and "error" in mine:
            return []
        side = "polyaxon" if "error" in poly else "ours"
        error = (poly if side == "polyaxon" else mine)["error"]
        code = None
        if side == "ours":
            code = next((c for pattern, c in _REFUSALS if re.search(pattern, error)), None)
        return [Difference("render", f"only {side} refuses: {error}", code)]
    p, o = normalise(poly), normalise(mine)
    out: list[Difference] = []
    raw_codes = _raw_volume_codes(p["raw_volumes"])
    seen: set[str] = set()
    clashing = {v["name"] for v in p["raw_volumes"] if v["name"] in seen or seen.add(v["name"])}
    renamed = clashing | {f"{n}-{f}" for n in clashing for f in ("secret", "config")}
    for name in sorted(set(p["volumes"]) | set(o["volumes"])):
        pv, ov = p["volumes"].get(name), o["volumes"].get(name)
        if pv == ov:
            continue
        code = None
        if name in renamed:
            code = "renamed-clashing-volume"
        elif pv is None and name == "plx-toolkit-tmp":
            code = "toolkit-containers"
        elif pv is not None and ov is None and not _LABEL.fullmatch(name):
            code = "derived-volume-name"
        elif pv is None and ov is not None and _DERIVED.search(name):
            code = "derived-volume-name"
        elif name == "docker" and ov == {"hostPath": {**pv["hostPath"], "type": "Socket"}}:
            code = "docker-socket-type"
        elif ov is None and name == "configs-context":
            code = "auth-context"
        out.append(Difference(f"volumes[{name}]", f"polyaxon {pv} vs ours {ov}", code))
    for code in sorted(raw_codes):
        out.append(Difference("volumes", "normalised before comparing", code))
    if _unnormalised_paths(poly):
        out.append(Difference("paths", "Polyaxon writes a path unnormalised", "paths-normalised"))
    before = len(out)
    _compare_container("main", p["main"], o["main"], case, False, out)
    out[before:] = [
        Difference(d.where, d.detail, "renamed-clashing-volume")
        if d.code is None and d.where.startswith("main.volumeMounts") and any(f"('{n}'" in d.detail for n in clashing)
        else d
        for d in out[before:]
    ]
    native = [k for k in o["init"] if k in p["sidecars"] and k not in p["init"] and k not in o["sidecars"]]
    for key in native:  # compared below as the sidecars they are
        o["sidecars"][key] = o["init"].pop(key)
        out.append(Difference(f"sidecars[{key}]", "a native sidecar: an init container in ours", "native-sidecar"))
    for key in sorted(set(p["init"]) | set(o["init"])):
        pc, oc = p["init"].get(key), o["init"].get(key)
        if key == "polyaxon-init-auth" and oc is None:
            out.append(Difference(f"init[{key}]", "only in polyaxon", "auth-context"))
        elif key == "polyaxon-init-artifacts-default" and pc is None and _logs_only(case):
            out.append(Difference(f"init[{key}]", "only in ours", "logs-from-files"))
        elif key == "polyaxon-init-artifacts-resume" and pc is None:
            out.append(Difference(f"init[{key}]", "only in ours", "artifacts-init"))
        elif pc is None or oc is None:
            out.append(Difference(f"init[{key}]", f"only in {'ours' if pc is None else 'polyaxon'}", None))
        else:
            before = len(out)
            _compare_container(f"init[{key}]", pc, oc, case, True, out)
            if key == "polyaxon-init-artifacts-default":
                out[before:] = [Difference(d.where, d.detail, d.code or "artifacts-init") for d in out[before:]]
    for key in sorted(set(p["sidecars"]) | set(o["sidecars"])):
        pc, oc = p["sidecars"].get(key), o["sidecars"].get(key)
        if pc is None or oc is None:
            out.append(Difference(f"sidecars[{key}]", f"only in {'ours' if pc is None else 'polyaxon'}", None))
        else:
            _compare_container(f"sidecars[{key}]", pc, oc, case, True, out)
    return out
