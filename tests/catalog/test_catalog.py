"""One catalog, three ways in: a values file, a parsed dict, and Python model objects.

The same connections must compare equal whichever way they were given, so that platform code can
build a catalog in Python and trust it to behave like the admin's values file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stores import Catalog, SelectionError
from stores.models import (
    ClaimConnection,
    ClaimSchema,
    ConnectionResource,
    EnvVar,
    GcsConnection,
    GcsSchema,
    HostPathConnection,
    HostPathSchema,
    KeyToPath,
    S3Connection,
    S3Schema,
    WasbConnection,
    WasbSchema,
)

from support.paths import ROOT
EXAMPLES = ROOT / "examples"
SEED = EXAMPLES / "seed-004-values.yaml"
CURRENT = EXAMPLES / "current-values.yaml"
LEGACY_DEFAULTS = EXAMPLES / "legacy-defaults-values.yaml"
BUNDLED = ROOT / "stores" / "examples" / "default-values.yaml"


def _legacy_key_secret(conn_name: str) -> ConnectionResource:
    # the legacy `secret` + `secretKey` pair: the key delivered as key.json in a folder of its own
    return ConnectionResource(
        name="secret-name",
        items=(KeyToPath(key="secret-key", path="key.json"),),
        mount_path=f"/plx-secrets/{conn_name}",
    )


def seed_in_python() -> Catalog:
    def buckets(role: str) -> list:
        return [
            GcsConnection(name=f"{role}-gcs3", schema=GcsSchema(bucket=f"gs://{role}-bucket"),
                          secret=_legacy_key_secret(f"{role}-gcs3")),
            S3Connection(name=f"{role}-s3", schema=S3Schema(bucket=f"s3://{role}-bucket"),
                         secret=_legacy_key_secret(f"{role}-s3")),
            WasbConnection(
                name=f"{role}-azure",
                schema=WasbSchema(bucket=f"wasbs://{role}-container@plxstorage.blob.core.windows.net/"),
                secret=_legacy_key_secret(f"{role}-azure"),
            ),
        ]

    return Catalog(
        data=[
            HostPathConnection(name="data1", schema=HostPathSchema(
                host_path="/path/to/data", mount_path="/data/1", read_only=True)),
            ClaimConnection(name="data2", schema=ClaimSchema(volume_claim="data-2-pvc", mount_path="/data/2")),
            ClaimConnection(name="data-foo", schema=ClaimSchema(volume_claim="data-foo-pvc", mount_path="/data/foo")),
            *buckets("data"),
        ],
        outputs=[
            HostPathConnection(name="outputs1", schema=HostPathSchema(
                host_path="/path/to/outputs", mount_path="/outputs/1", read_only=True)),
            ClaimConnection(name="outputs2", schema=ClaimSchema(
                volume_claim="outputs-2-pvc", mount_path="/outputs/2")),
            ClaimConnection(name="outputs-foo", schema=ClaimSchema(
                volume_claim="outputs-foo-pvc", mount_path="/outputs/foo")),
            *buckets("outputs"),
        ],
    )


def defaults_in_python() -> Catalog:
    return Catalog(
        data=[HostPathConnection(name="default-data", schema=HostPathSchema(host_path="/data", mount_path="/data"))],
        outputs=[HostPathConnection(name="default-outputs", schema=HostPathSchema(
            host_path="/outputs", mount_path="/outputs"))],
    )


def current_in_python() -> Catalog:
    return Catalog(
        artifacts_store=ClaimConnection(
            name="artifacts",
            description="where runs write their artifacts",
            schema=ClaimSchema(volume_claim="artifacts-pvc", mount_path="/plx-artifacts", sub_path="team-a"),
        ),
        connections=[
            HostPathConnection(name="datasets", tags=("data", "local"), schema=HostPathSchema(
                host_path="/mnt/datasets", mount_path="/data/datasets", read_only=True)),
            ClaimConnection(name="shared-claim", schema=ClaimSchema(
                volume_claim="shared-pvc", mount_path="/data/shared", sub_path="projects/vision", read_only=False)),
            S3Connection(
                name="s3-data",
                schema=S3Schema(bucket="s3://ml-data/datasets"),
                secret=ConnectionResource(name="s3-credentials", items=(KeyToPath(key="key.json"),),
                                          mount_path="/plx-secrets/s3-data", default_mode=0o400),
                env=(EnvVar(name="AWS_REGION", value="eu-west-1"),),
                annotations={"iam.amazonaws.com/role": "ml-reader"},
            ),
            GcsConnection(
                name="gcs-models",
                schema=GcsSchema(bucket="gs://ml-models"),
                secret=ConnectionResource(name="gcs-credentials",
                                          items=(KeyToPath(key="service-account.json", path="key.json"),),
                                          mount_path="/plx-secrets/gcs-models"),
                config_map=ConnectionResource(name="gcs-settings", items=(KeyToPath(key="project"),)),
            ),
            WasbConnection(
                name="azure-outputs",
                schema=WasbSchema(bucket="wasbs://outputs@plxstorage.blob.core.windows.net/"),
                secret=ConnectionResource(name="az-credentials", items=(
                    KeyToPath(key="AZURE_ACCOUNT_NAME"),
                    KeyToPath(key="AZURE_ACCOUNT_KEY", path="AZURE_ACCOUNT_KEY"),
                )),
                env=(EnvVar(name="AZURE_STORAGE_ACCOUNT", value_from={
                    "secretKeyRef": {"name": "az-credentials", "key": "AZURE_ACCOUNT_NAME"}}),),
            ),
        ],
    )


CASES = {
    "seed-004": (SEED, seed_in_python),
    "legacy-defaults": (LEGACY_DEFAULTS, defaults_in_python),
    "current": (CURRENT, current_in_python),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_file_dict_and_python_give_equal_catalogs(case: str) -> None:
    path, build = CASES[case]
    from_file = Catalog.from_file(path)
    from_text = Catalog.from_yaml(path.read_bytes())
    from_dict = Catalog.from_values(yaml.safe_load(path.read_text()))
    from_python = build()
    assert from_file == from_text == from_dict
    # a values file says which defaults applied (a store added); a catalog built in Python has
    # nothing to say
    assert from_file.model_copy(update={"notes": ()}) == from_python
    assert from_file.names() == from_python.names()


def test_equality_is_not_vacuous() -> None:
    changed = seed_in_python().model_copy(update={"outputs": seed_in_python().outputs[1:]})
    assert Catalog.from_file(SEED) != changed
    flipped = Catalog.from_values({"persistence": {"data": {"data1": {
        "hostPath": "/path/to/data", "mountPath": "/data/1", "readOnly": False}}}})
    assert flipped.get("data1") != seed_in_python().get("data1")


@pytest.mark.parametrize("values", [
    {"persistence": {}},
    {"persistence": None},
    {"persistence": {"data": {}, "outputs": None}},
    {"persistence": {"data": None, "outputs": {}}},
])
def test_legacy_defaults_from_any_empty_spelling(values: dict) -> None:
    catalog = Catalog.from_values(values)
    assert catalog.model_copy(update={"notes": ()}) == defaults_in_python()
    # every store added by default is said so (the CLI prints these notes on stderr)
    assert [n.split(":")[0] for n in catalog.notes] == ["persistence.data is not set", "persistence.outputs is not set"]
    assert "'default-outputs', host path /outputs on /outputs" in catalog.notes[1]


def test_a_declared_role_gets_no_default_note() -> None:
    catalog = Catalog.from_values({"persistence": {"data": {"d1": {"hostPath": "/a", "mountPath": "/d1"}}}})
    assert len(catalog.notes) == 1 and catalog.notes[0].startswith("persistence.outputs is not set")


def test_defaults_fill_only_the_empty_role() -> None:
    catalog = Catalog.from_values({"persistence": {"data": {"d1": {"hostPath": "/a", "mountPath": "/d1"}}}})
    assert catalog.names() == ["d1", "default-outputs"]
    assert catalog.get("default-outputs").mount_path == "/outputs"


def test_seed_roles_and_store_paths() -> None:
    catalog = Catalog.from_file(SEED)
    assert [c.name for c in catalog.outputs] == [
        "outputs1", "outputs2", "outputs-foo", "outputs-gcs3", "outputs-s3", "outputs-azure"]
    assert catalog.role_of("outputs-foo") == "outputs"
    assert catalog.get("data1").store_path == "/data/1"
    assert catalog.get("data-gcs3").store_path == "gs://data-bucket"
    assert catalog.get("data-azure").store_path == "wasbs://data-container@plxstorage.blob.core.windows.net/"
    assert catalog.get("data-s3").secret.items[0].path == "key.json"


def test_current_example_details() -> None:
    catalog = Catalog.from_file(CURRENT)
    assert [role for role, _ in catalog.entries()] == ["artifacts_store"] + ["connection"] * 5
    assert [c.kind for c in catalog.connections] == ["host_path", "volume_claim", "s3", "gcs", "wasb"]
    s3 = catalog.get("s3-data")
    # a bare item name means {key: name, path: name}, the form Kubernetes wants
    assert s3.secret.items == (KeyToPath(key="key.json", path="key.json"),)
    assert s3.secret.default_mode == 0o400
    assert catalog.get("gcs-models").secret.items[0].path == "key.json"
    assert catalog.get("shared-claim").schema_.sub_path == "projects/vision"
    assert catalog.artifacts_store.store_path == "/plx-artifacts"


def test_bundled_example_loads() -> None:
    catalog = Catalog.from_file(BUNDLED)
    assert {c.kind for c in catalog} == {"host_path", "volume_claim"}
    assert len(catalog) == 4


def test_unknown_name_is_a_selection_error() -> None:
    with pytest.raises(SelectionError, match="no connection named 'nope'"):
        Catalog.from_file(SEED).get("nope")


def test_python_catalog_refuses_duplicate_names() -> None:
    conn = HostPathConnection(name="same", schema=HostPathSchema(host_path="/a", mount_path="/a"))
    with pytest.raises(ValueError, match="'same' is used twice"):
        Catalog(data=[conn], outputs=[conn])
