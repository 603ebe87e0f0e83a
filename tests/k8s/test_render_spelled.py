"""The renderer writes a connection's volumes, mounts, env vars and envFrom sources in manifest
spelling (``Sourced.spelled``) instead of constructing client models: here that spelling is
compared, key order included, with what validated construction gives, on the benchmark's mixed
catalog of 1 to 50 connections plus the shapes the mix lacks (config maps, modes, envFrom, a
host path's type).  Runs on the oldest client too (tests/k8s/test_old_client.py, K8S_TESTS).

Two oracles: the client models built field by field with their constructors (validating each
field), as the renderer built them before; and the whole patch written after every entry's
client model was built from its spelling (``Sourced.item``), so ``to_dict()`` writes the
client's own spelling of each.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.render_bench import connection  # the very mix the benchmark times
from k8s import render_patch
from k8s._client import (
    V1ConfigMapEnvSource,
    V1ConfigMapKeySelector,
    V1ConfigMapVolumeSource,
    V1EnvFromSource,
    V1EnvVar,
    V1EnvVarSource,
    V1HostPathVolumeSource,
    V1KeyToPath,
    V1PersistentVolumeClaimVolumeSource,
    V1SecretEnvSource,
    V1SecretKeySelector,
    V1SecretVolumeSource,
    V1Volume,
    V1VolumeMount,
)
from k8s.naming import key_file_env
from k8s.podpatch import PodPatch, Sourced
from k8s.serialize import dump
from stores.catalog import Catalog
from support.k8s import RUN

#: shapes the benchmark's mix has not: config maps (mounted with modes, keyed, whole), a secret
#: as envFrom, a host path's type, a claim without subPath, keys mounted under another path
EXTRA = [
    {"name": "hp-typed", "kind": "host_path",
     "schema": {"hostPath": "/mnt/typed", "mountPath": "/data/typed", "type": "DirectoryOrCreate"},
     "configMap": {"name": "cm-files", "items": [{"key": "a.conf", "path": "conf/a", "mode": 0o440}, "b.conf"],
                   "mountPath": "/etc/cm", "defaultMode": "0400"}},
    {"name": "claim-plain", "kind": "volume_claim", "schema": {"volumeClaim": "pvc-plain", "mountPath": "/data/plain"},
     "configMap": {"name": "cm-keys", "items": ["CM_ONE", "CM_TWO"]}},
    {"name": "s3-from", "kind": "s3", "schema": {"bucket": "s3://b-from/pre"}, "secret": {"name": "sec-from"},
     "configMap": {"name": "cm-whole"}},
    {"name": "s3-moded", "kind": "s3", "schema": {"bucket": "s3://b-moded"},
     "secret": {"name": "sec-moded", "items": [{"key": "key.json", "path": "sa.json", "mode": 0o400}],
                "mountPath": "/plx-secrets/moded", "defaultMode": "0440"}},
]


def catalog(n: int, extra: bool = False) -> Catalog:
    return Catalog.from_values({"connections": [connection(i) for i in range(n)] + (EXTRA if extra else [])})


def ordered(value: Any) -> str:
    """The text with keys in the order written: equal texts are equal spellings."""
    return json.dumps(value, sort_keys=False)


def entries(patch: PodPatch) -> list[Sourced[Any]]:
    return [*patch.volumes, *patch.volume_mounts, *patch.env, *patch.env_from]


# ---- the oracle: the client models built by their validating constructors -------------------


def _key_to_paths(resource: Any) -> list[V1KeyToPath] | None:
    if not resource.items:
        return None
    return [V1KeyToPath(key=i.key, path=i.path if i.path is not None else i.key, mode=i.mode) for i in resource.items]


def _resource_volume(attr: str, resource: Any) -> V1Volume:
    # the pod names a resource's volume after it (no name clashes in these catalogs)
    if attr == "secret":
        return V1Volume(name=resource.name, secret=V1SecretVolumeSource(
            secret_name=resource.name, items=_key_to_paths(resource), default_mode=resource.default_mode))
    return V1Volume(name=resource.name, config_map=V1ConfigMapVolumeSource(
        name=resource.name, items=_key_to_paths(resource), default_mode=resource.default_mode))


def constructed(conn: Any) -> list[Any]:
    """What the renderer gave one connection before it spelled it (its credential env aside):
    client models, built field by field, in the order it added them."""
    out: list[Any] = []
    schema = conn.schema_
    if conn.kind == "host_path":
        out.append(V1Volume(name=conn.name, host_path=V1HostPathVolumeSource(path=schema.host_path, type=schema.type)))
        out.append(V1VolumeMount(name=conn.name, mount_path=schema.mount_path, read_only=schema.read_only))
    elif conn.kind == "volume_claim":
        out.append(V1Volume(name=conn.name, persistent_volume_claim=V1PersistentVolumeClaimVolumeSource(
            claim_name=schema.volume_claim, read_only=schema.read_only)))
        out.append(V1VolumeMount(name=conn.name, mount_path=schema.mount_path, read_only=schema.read_only,
                                 sub_path=schema.sub_path))
    for attr in ("secret", "config_map"):
        resource = getattr(conn, attr)
        if resource is not None and resource.mount_path is not None:
            out.append(_resource_volume(attr, resource))
            out.append(V1VolumeMount(name=resource.name, mount_path=resource.mount_path, read_only=True))
    for attr in ("secret", "config_map"):
        resource = getattr(conn, attr)
        if resource is None or (resource.mount_path is not None and not (attr == "config_map" and resource.items)):
            continue
        if not resource.items:
            out.append(V1EnvFromSource(secret_ref=V1SecretEnvSource(name=resource.name)) if attr == "secret"
                       else V1EnvFromSource(config_map_ref=V1ConfigMapEnvSource(name=resource.name)))
            continue
        for item in resource.items:
            ref = (V1EnvVarSource(secret_key_ref=V1SecretKeySelector(name=resource.name, key=item.key)) if attr == "secret"
                   else V1EnvVarSource(config_map_key_ref=V1ConfigMapKeySelector(name=resource.name, key=item.key)))
            out.append(V1EnvVar(name=item.key, value_from=ref))
    return out


def _of(patch: PodPatch, name: str) -> list[str]:
    """The entries a connection's own builders gave (volumes, mounts, env, envFrom; not the key
    file variables, which depend on the other connections), spelled."""
    own = f"connection {name!r}"
    return [ordered(e.manifest) for e in entries(patch)
            if (e.source == own or e.source.startswith(own + " (")) and not e.source.endswith("key file)")]


def _sort_like_patch(items: list[Any]) -> list[str]:
    # the patch keeps volumes, mounts, env and envFrom in lists of their own, in the order added
    kinds = (V1Volume, V1VolumeMount, V1EnvVar, V1EnvFromSource)
    return [ordered(dump(m)) for kind in kinds for m in items if isinstance(m, kind)]


def test_spelled_entries_are_what_validated_construction_gives() -> None:
    cat = catalog(50, extra=True)
    patch = render_patch(cat, None, RUN)
    volumes_added: set[str] = set()
    shapes: set[str] = set()
    for _, conn in cat.entries():
        want = constructed(conn)
        # one volume asked for by several connections (a shared secret) is added once
        want = [m for m in want if not (isinstance(m, V1Volume) and m.name in volumes_added)]
        volumes_added.update(m.name for m in want if isinstance(m, V1Volume))
        assert _of(patch, conn.name) == _sort_like_patch(want), conn.name
        shapes.update(next(iter(dump(m))) for m in want)
    # every shape the builders spell was compared: each volume source, mounts, env refs, envFrom
    assert {"hostPath", "name", "configMap", "mountPath", "configMapRef", "secretRef"} <= shapes
    spelled = {ordered(e.manifest) for e in patch.volumes}
    assert any('"persistentVolumeClaim"' in v for v in spelled) and any('"defaultMode"' in v for v in spelled)
    for entry in patch.env:  # the literal ones: key files, SDK variables, the contract
        if "value" in entry.manifest:
            assert ordered(entry.manifest) == ordered(dump(V1EnvVar(name=entry.manifest["name"], value=entry.manifest["value"])))
    assert any(e.manifest["name"] == key_file_env("s3-moded") for e in patch.env)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 16, 25, 33, 50])
def test_to_dict_from_spellings_is_to_dict_from_validated_models(n: int) -> None:
    for extra in (False, True):
        fast = render_patch(catalog(n, extra), None, RUN).to_dict()
        patch = render_patch(catalog(n, extra), None, RUN)
        for entry in entries(patch):
            assert dump(entry.item) is not None  # each client model built, validating its spelling
        assert ordered(patch.to_dict()) == ordered(fast)


def test_a_built_model_edited_in_place_is_what_the_output_shows() -> None:
    patch = render_patch(catalog(5), None, RUN)
    mount = patch.volume_mounts[0]
    mount.item.read_only = False
    assert mount.manifest["readOnly"] is False
    assert [m for m in patch.to_dict()["spec"]["containers"][0]["volumeMounts"] if m["name"] == mount.manifest["name"]][0]["readOnly"] is False


def test_outputs_share_no_objects_with_the_kept_spellings() -> None:
    patch = render_patch(catalog(10, extra=True), None, RUN)
    out = patch.to_dict()
    for volume in out["spec"]["volumes"]:
        volume["name"] = "edited"
        for source in ("secret", "configMap"):
            for item in volume.get(source, {}).get("items", []):
                item["key"] = "edited"
    for env in out["spec"]["containers"][0]["env"]:
        env.setdefault("valueFrom", {}).setdefault("secretKeyRef", {})["key"] = "edited"
    assert ordered(patch.to_dict()) == ordered(render_patch(catalog(10, extra=True), None, RUN).to_dict())
