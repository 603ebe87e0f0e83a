"""Per connection kind: volumes, mounts, credentials; secrets and config maps in their three
modes; volume names."""

from __future__ import annotations

import re

import pytest

from k8s import render_patch
from k8s.naming import VolumeNamer, key_file_env, label_for
from support.k8s import RUN, assert_golden, assert_patch_valid, catalog_of
from stores.catalog import Catalog

KIND_DOCS = {
    "host_path": {
        "name": "scratch",
        "kind": "host_path",
        "schema": {"hostPath": "/mnt/scratch", "mountPath": "/data/scratch", "readOnly": True, "type": "DirectoryOrCreate"},
    },
    "volume_claim": {
        "name": "shared",
        "kind": "volume_claim",
        "schema": {"volumeClaim": "shared-pvc", "mountPath": "/data/shared", "subPath": "team/a", "readOnly": True},
    },
    "s3": {
        "name": "s3-data",
        "kind": "s3",
        "schema": {"bucket": "s3://ml-data/sets"},
        "secret": {"name": "s3-creds", "items": [{"key": "key.json", "path": "key.json"}], "mountPath": "/plx-secrets/s3-data"},
        "annotations": {"iam.amazonaws.com/role": "reader"},
    },
    "gcs": {
        "name": "gcs-models",
        "kind": "gcs",
        "schema": {"bucket": "gs://ml-models"},
        "secret": {"name": "gcs-creds", "items": [{"key": "sa", "path": "key.json", "mode": 0o400}], "mountPath": "/plx-secrets/gcs-models"},
    },
    "wasb": {
        "name": "az-out",
        "kind": "wasb",
        "schema": {"bucket": "wasbs://outputs@plxstorage.blob.core.windows.net/"},
        "secret": {"name": "az-creds", "items": ["AZURE_ACCOUNT_NAME", "AZURE_ACCOUNT_KEY"]},
        "env": [{"name": "AZURE_STORAGE_ACCOUNT", "valueFrom": {"secretKeyRef": {"name": "az-creds", "key": "AZURE_ACCOUNT_NAME"}}}],
    },
}


class _Rendered:
    """A rendered patch whose ``to_dict()`` is strictly validated (Pod and Job, every tested
    version) before a test looks at it."""

    def __init__(self, patch):
        self.patch = patch

    def to_dict(self):
        out = self.patch.to_dict()
        assert_patch_valid(out)
        return out


def _patch_of(doc):
    return _Rendered(render_patch(catalog_of(doc), None, RUN))


def _main(patch_dict):
    return patch_dict["spec"]["containers"][0]


def _env(patch_dict):
    return {v["name"]: v for v in _main(patch_dict).get("env", [])}


@pytest.mark.parametrize("kind", sorted(KIND_DOCS))
def test_kind_golden_and_valid(kind):
    out = _patch_of(KIND_DOCS[kind]).to_dict()
    assert_golden(f"kind-{kind}", out)


def test_host_path_volume_type_and_read_only_mount():
    out = _patch_of(KIND_DOCS["host_path"]).to_dict()
    assert out["spec"]["volumes"] == [
        {"hostPath": {"path": "/mnt/scratch", "type": "DirectoryOrCreate"}, "name": "scratch"}
    ]
    assert _main(out)["volumeMounts"] == [{"mountPath": "/data/scratch", "name": "scratch", "readOnly": True}]


def test_host_path_without_type_has_no_type():
    doc = {**KIND_DOCS["host_path"], "schema": {"hostPath": "/mnt/x", "mountPath": "/x"}}
    out = _patch_of(doc).to_dict()
    assert out["spec"]["volumes"] == [{"hostPath": {"path": "/mnt/x"}, "name": "scratch"}]
    assert "readOnly" not in _main(out)["volumeMounts"][0]


def test_claim_read_only_and_sub_path():
    out = _patch_of(KIND_DOCS["volume_claim"]).to_dict()
    assert out["spec"]["volumes"] == [
        {"name": "shared", "persistentVolumeClaim": {"claimName": "shared-pvc", "readOnly": True}}
    ]
    assert _main(out)["volumeMounts"] == [
        {"mountPath": "/data/shared", "name": "shared", "readOnly": True, "subPath": "team/a"}
    ]


@pytest.mark.parametrize("kind", ["s3", "gcs", "wasb"])
def test_buckets_have_no_store_volume(kind):
    out = _patch_of(KIND_DOCS[kind]).to_dict()
    names = [v["name"] for v in out["spec"].get("volumes", [])]
    assert not any(n.startswith("store-") for n in names)


def test_mounted_secret_is_read_only_volume_with_key_to_path_items():
    out = _patch_of(KIND_DOCS["gcs"]).to_dict()
    assert out["spec"]["volumes"] == [
        {"name": "gcs-creds", "secret": {"items": [{"key": "sa", "mode": 0o400, "path": "key.json"}], "secretName": "gcs-creds"}}
    ]
    assert _main(out)["volumeMounts"] == [
        {"mountPath": "/plx-secrets/gcs-models", "name": "gcs-creds", "readOnly": True}
    ]


def test_gcs_key_file_reaches_google_application_credentials():
    env = _env(_patch_of(KIND_DOCS["gcs"]).to_dict())
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/plx-secrets/gcs-models/key.json"}
    assert env[key_file_env("gcs-models")]["value"] == "/plx-secrets/gcs-models/key.json"


def test_s3_key_file_env_but_no_google_variable():
    env = _env(_patch_of(KIND_DOCS["s3"]).to_dict())
    assert env["POLYAXON_CONNECTION_S3_DATA_KEY_FILE"]["value"] == "/plx-secrets/s3-data/key.json"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in env


def test_secret_items_without_mount_path_become_secret_key_refs():
    env = _env(_patch_of(KIND_DOCS["wasb"]).to_dict())
    assert env["AZURE_ACCOUNT_KEY"] == {
        "name": "AZURE_ACCOUNT_KEY", "valueFrom": {"secretKeyRef": {"key": "AZURE_ACCOUNT_KEY", "name": "az-creds"}}
    }
    assert env["AZURE_ACCOUNT_NAME"]["valueFrom"]["secretKeyRef"] == {"key": "AZURE_ACCOUNT_NAME", "name": "az-creds"}
    # the connection's own env entry is carried as written
    assert env["AZURE_STORAGE_ACCOUNT"]["valueFrom"]["secretKeyRef"]["name"] == "az-creds"
    # no mounted key file: no key-file variable
    assert key_file_env("az-out") not in env


def test_secret_without_items_or_mount_path_is_env_from():
    doc = {**KIND_DOCS["s3"], "secret": {"name": "s3-env"}}
    out = _patch_of(doc).to_dict()
    assert _main(out)["envFrom"] == [{"secretRef": {"name": "s3-env"}}]
    assert "volumes" not in out["spec"]


def test_config_map_three_modes():
    base = {"name": "cfg", "kind": "s3", "schema": {"bucket": "s3://cfg-bucket"}}
    mounted = _patch_of({**base, "configMap": {"name": "settings", "items": ["a.ini"], "mountPath": "/etc-app/settings", "defaultMode": 0o440}}).to_dict()
    assert mounted["spec"]["volumes"] == [
        {"configMap": {"defaultMode": 0o440, "items": [{"key": "a.ini", "path": "a.ini"}], "name": "settings"}, "name": "settings"}
    ]
    assert _main(mounted)["volumeMounts"] == [{"mountPath": "/etc-app/settings", "name": "settings", "readOnly": True}]
    # Polyaxon also gives a mounted config map's items as env vars (those that can be env names)
    both = _patch_of({**base, "configMap": {"name": "settings", "items": ["REGION", "a.ini"], "mountPath": "/etc-app/settings"}}).to_dict()
    assert _env(both)["REGION"] == {"name": "REGION", "valueFrom": {"configMapKeyRef": {"key": "REGION", "name": "settings"}}}
    assert _env(both)["a.ini"]["valueFrom"]["configMapKeyRef"]["key"] == "a.ini"
    keyed = _patch_of({**base, "configMap": {"name": "settings", "items": ["REGION"]}}).to_dict()
    assert _env(keyed)["REGION"] == {"name": "REGION", "valueFrom": {"configMapKeyRef": {"key": "REGION", "name": "settings"}}}
    whole = _patch_of({**base, "configMap": {"name": "settings"}}).to_dict()
    assert _main(whole)["envFrom"] == [{"configMapRef": {"name": "settings"}}]


def test_annotations_reach_the_pod():
    out = _patch_of(KIND_DOCS["s3"]).to_dict()
    assert out["metadata"] == {"annotations": {"iam.amazonaws.com/role": "reader"}}


def test_legacy_bucket_credentials_mounted_and_pointed_at(seed_values_path):
    catalog = Catalog.from_file(seed_values_path)
    out = render_patch(catalog, {"data": ["data-gcs3", "data-s3"]}, RUN).to_dict()
    assert_patch_valid(out)
    volumes = {v["name"]: v for v in out["spec"]["volumes"]}
    # both legacy buckets name the same secret and key: one volume, mounted once per connection
    assert volumes["secret-name"]["secret"] == {"items": [{"key": "secret-key", "path": "key.json"}], "secretName": "secret-name"}
    mounts = {m["mountPath"]: m for m in _main(out)["volumeMounts"]}
    assert mounts["/plx-secrets/data-s3"] == {"mountPath": "/plx-secrets/data-s3", "name": "secret-name", "readOnly": True}
    assert mounts["/plx-secrets/data-gcs3"]["name"] == "secret-name"
    env = _env(out)
    assert env["GOOGLE_APPLICATION_CREDENTIALS"]["value"] == "/plx-secrets/data-gcs3/key.json"
    assert env["POLYAXON_CONNECTION_DATA_S3_KEY_FILE"]["value"] == "/plx-secrets/data-s3/key.json"


def test_secret_item_that_is_not_an_env_name_is_refused():
    from support.k8s import python_catalog
    from stores.errors import RenderError, ValuesError

    doc = {**KIND_DOCS["s3"], "secret": {"name": "s3-creds", "items": ["1st-key"]}}
    # refused when loading, at its path (stores validate is the gate) ...
    with pytest.raises(ValuesError, match=r"secret\.items\[0\]: item '1st-key' cannot be an env var name"):
        _patch_of(doc)
    # ... and by the renderer for a catalog built past the loader
    with pytest.raises(RenderError, match="'1st-key' cannot be an env var name"):
        render_patch(python_catalog(doc), None, RUN)


def test_no_secret_reaches_a_literal_env_value():
    """Literal values are only paths, the env contract and connections' plain env entries;
    everything fed by a secret is a reference."""
    from stores.contract import contract_env
    from stores.selection import select

    catalog = catalog_of(*KIND_DOCS.values())
    out = render_patch(catalog, None, RUN).to_dict()
    assert_patch_valid(out)
    literal = {v["name"] for v in _main(out)["env"] if "value" in v}
    expected = set(contract_env(select(catalog), RUN)) | {
        key_file_env("s3-data"), key_file_env("gcs-models"), "GOOGLE_APPLICATION_CREDENTIALS",
        "POLYAXON_CONNECTIONS_CATALOG",  # names, kinds, buckets and secret *names*: no value
    }
    assert literal == expected
    refs = {v["name"]: v["valueFrom"] for v in _main(out)["env"] if "valueFrom" in v}
    assert refs["AZURE_ACCOUNT_KEY"] == {"secretKeyRef": {"key": "AZURE_ACCOUNT_KEY", "name": "az-creds"}}
    assert all("value" not in v for v in _main(out)["env"] if "valueFrom" in v)


@pytest.mark.parametrize("name", ["a", "data-1", "x" * 63, "a" * 40 + "-" + "b" * 22, "test_s3", "data.v1", "Data", "x" * 70])
def test_volume_names_are_dns_labels(name):
    got = label_for(name)
    assert len(got) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", got), got
    if re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63:
        assert got == name  # Polyaxon's name, unchanged


def test_names_that_fold_alike_stay_distinct():
    assert label_for("test_s3") != label_for("test.s3") != label_for("test-s3")
    assert label_for("x" * 62 + "a") != label_for("x" * 62 + "b")
    assert label_for("test_s3") == label_for("test_s3")


def test_namer_keeps_store_names_and_renames_a_clashing_secret():
    namer = VolumeNamer()
    assert namer.reserve(("store", "creds"), "creds") == "creds"
    assert namer.name(("secret", "creds", (), None), "creds", "secret") == "creds-secret"
    assert namer.name(("secret", "creds", (), None), "creds", "secret") == "creds-secret"  # one volume
    assert namer.name(("secret", "creds", (("k", "k", None),), None), "creds", "secret").startswith("creds-secret-")


def test_secret_named_like_a_connection_gets_its_own_volume_name():
    catalog = catalog_of(
        {"name": "creds", "kind": "host_path", "schema": {"hostPath": "/srv/creds", "mountPath": "/creds"}},
        {"name": "d1", "kind": "s3", "schema": {"bucket": "s3://b-1"}, "secret": {"name": "creds", "mountPath": "/etc/aws"}},
    )
    out = render_patch(catalog, None, RUN).to_dict()
    assert_patch_valid(out)
    names = {v["name"]: v for v in out["spec"]["volumes"]}
    assert names["creds"]["hostPath"]["path"] == "/srv/creds"
    assert names["creds-secret"]["secret"]["secretName"] == "creds"


def test_two_connections_sharing_one_mounted_secret_mount_it_once():
    """Polyaxon's documented pattern: one GCS key for several datasets."""
    secret = {"name": "gcs-creds", "mountPath": "/plx-secrets/gcs", "items": ["gc-secret.json"]}
    catalog = catalog_of(
        {"name": "ds1", "kind": "gcs", "schema": {"bucket": "gs://bucket-1"}, "secret": secret},
        {"name": "ds2", "kind": "gcs", "schema": {"bucket": "gs://bucket-2"}, "secret": secret},
    )
    out = render_patch(catalog, None, RUN).to_dict()
    assert_patch_valid(out)
    assert [v["name"] for v in out["spec"]["volumes"]] == ["gcs-creds"]
    assert _main(out)["volumeMounts"] == [{"mountPath": "/plx-secrets/gcs", "name": "gcs-creds", "readOnly": True}]
    assert _env(out)["GOOGLE_APPLICATION_CREDENTIALS"]["value"] == "/plx-secrets/gcs/gc-secret.json"


def test_key_file_env_matches_the_runtime_lookup():
    credentials = pytest.importorskip("stores.credentials")
    for name in ("data-s3", "a", "x-1-y"):
        assert key_file_env(name) == credentials.key_file_env(name)
