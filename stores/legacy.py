"""The legacy helm spelling: ``persistence.data/outputs.<name>`` and the single-volume
``persistence.logs/repos/upload`` of the old chart (Polyaxon docs, "Customize Data and Outputs";
https://docs.polyaxon.com/customization/customize_outputs_and_data/), tier 1.

Each entry is one of five shapes, told apart by which key it has::

    {hostPath, mountPath, readOnly}               -> host_path
    {existingClaim, mountPath, readOnly}          -> volume_claim
    {store: s3|gcs|azure, bucket, secret, secretKey} -> s3 / gcs / wasb

A bucket entry's ``secret`` + ``secretKey`` become a secret mounted read-only at
``/plx-secrets/<name>`` with the key delivered as ``key.json``, so any SDK can find it.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, model_validator

from . import names
from .keyfile import KEY_FILE, SECRETS_ROOT
from .kinds import LEGACY_STORES
from .modelbase import HostPath, MountPath, ResourceName, SecretKey, _checked
from .models import (
    CONNECTION_MODELS,
    Flag,
    bucket_keywords,
    drop_nulls,
)

__all__ = [
    "LegacyHostPath",
    "LegacyClaim",
    "LegacyS3",
    "LegacyGcs",
    "LegacyAzure",
    "LegacyEntry",
    "LEGACY_MODELS",
    "SECRETS_ROOT",
    "KEY_FILE",
    "DEFAULTS",
    "choose_model",
]

#: what the old chart used when ``persistence.data`` / ``persistence.outputs`` were empty
DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "data": {"default-data": {"mountPath": "/data", "hostPath": "/data"}},
    "outputs": {"default-outputs": {"mountPath": "/outputs", "hostPath": "/outputs"}},
}


class _Legacy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_absent(cls, data: Any) -> Any:
        return drop_nulls(data)


class LegacyHostPath(_Legacy):
    hostPath: HostPath
    mountPath: MountPath
    readOnly: Flag | None = None

    def to_document(self, name: str) -> dict[str, Any]:
        """The connection this entry means, as written under ``connections:``."""
        schema = {"hostPath": self.hostPath, "mountPath": self.mountPath, "readOnly": self.readOnly}
        return {"name": name, "kind": "host_path", "schema": _compact(schema)}

    def to_connection(self, name: str) -> Any:
        return CONNECTION_MODELS["host_path"].model_validate(self.to_document(name))


class LegacyClaim(_Legacy):
    existingClaim: ResourceName
    mountPath: MountPath
    readOnly: Flag | None = None

    def to_document(self, name: str) -> dict[str, Any]:
        """The connection this entry means, as written under ``connections:``."""
        schema = {"volumeClaim": self.existingClaim, "mountPath": self.mountPath, "readOnly": self.readOnly}
        return {"name": name, "kind": "volume_claim", "schema": _compact(schema)}

    def to_connection(self, name: str) -> Any:
        return CONNECTION_MODELS["volume_claim"].model_validate(self.to_document(name))


def _legacy_bucket(store: str) -> Any:
    kind = LEGACY_STORES[store]

    def check(value: str) -> str:
        return names.parse_bucket(kind, value, label=store).url

    return _checked(check, **bucket_keywords(kind))


class _LegacyBucket(_Legacy):
    # the pairing rule below, in a form helm can check too
    model_config = ConfigDict(
        json_schema_extra={"dependencies": {"secret": ["secretKey"], "secretKey": ["secret"]}}
    )

    secret: ResourceName | None = None
    secretKey: SecretKey | None = None

    @model_validator(mode="after")
    def _secret_pair(self) -> "_LegacyBucket":
        if (self.secret is None) != (self.secretKey is None):
            missing = "secretKey" if self.secretKey is None else "secret"
            raise ValueError(f"'secret' and 'secretKey' go together; {missing!r} is missing")
        return self

    def to_document(self, name: str) -> dict[str, Any]:
        """The connection this entry means, as written under ``connections:``."""
        kind = LEGACY_STORES[self.store]  # type: ignore[attr-defined]
        doc: dict[str, Any] = {"name": name, "kind": kind, "schema": {"bucket": self.bucket}}  # type: ignore[attr-defined]
        if self.secret is not None:
            doc["secret"] = {
                "name": self.secret,
                "items": [{"key": self.secretKey, "path": KEY_FILE}],
                "mountPath": f"{SECRETS_ROOT}/{name}",
            }
        return doc

    def to_connection(self, name: str) -> Any:
        return CONNECTION_MODELS[LEGACY_STORES[self.store]].model_validate(self.to_document(name))  # type: ignore[attr-defined]


class LegacyS3(_LegacyBucket):
    store: Literal["s3"]
    bucket: _legacy_bucket("s3")  # type: ignore[valid-type]


class LegacyGcs(_LegacyBucket):
    store: Literal["gcs"]
    bucket: _legacy_bucket("gcs")  # type: ignore[valid-type]


class LegacyAzure(_LegacyBucket):
    store: Literal["azure"]
    bucket: _legacy_bucket("azure")  # type: ignore[valid-type]


LEGACY_MODELS: dict[str, type[_Legacy]] = {
    "hostPath": LegacyHostPath,
    "existingClaim": LegacyClaim,
    "s3": LegacyS3,
    "gcs": LegacyGcs,
    "azure": LegacyAzure,
}
LegacyEntry = Union[LegacyHostPath, LegacyClaim, LegacyS3, LegacyGcs, LegacyAzure]


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


#: the keys that decide an entry's shape
_SHAPE_KEYS = ("hostPath", "existingClaim", "store")


def choose_model(entry: dict[str, Any]) -> tuple[type[_Legacy] | None, tuple[str, ...], str]:
    """Which legacy shape ``entry`` has: ``(model, problem_key_path, problem)``; the model is
    ``None`` when the shape cannot be told, and then the problem says why."""
    # the old chart leaves `existingClaim:` empty next to `hostPath`: a null key is not given
    present = [k for k in _SHAPE_KEYS if entry.get(k) is not None]
    if len(present) > 1:
        return None, (present[1],), (
            f"give exactly one of hostPath, existingClaim or store; found {' and '.join(present)}"
        )
    if not present:
        # a misspelt deciding key (`existingClam`, `hostpath`): point at it, not at the entry
        for key in entry:
            close = difflib.get_close_matches(str(key), _SHAPE_KEYS, n=1, cutoff=0.75) if isinstance(key, str) else []
            if not close and isinstance(key, str):
                close = [k for k in _SHAPE_KEYS if k.lower() == key.lower()]
            if close:
                return None, (key,), (
                    f"unknown key {key!r}; did you mean {close[0]!r}? (an entry needs one of hostPath, "
                    "existingClaim or store)"
                )
        if entry.get("bucket") is not None:
            return None, ("store",), "a bucket needs 'store' (one of s3, gcs, azure)"
        return None, (), "expected one of hostPath, existingClaim or store (with bucket)"
    key = present[0]
    if key == "store":
        store = entry["store"]
        if not isinstance(store, str) or store not in LEGACY_STORES:
            return None, ("store",), f"unknown store {store!r}; expected one of s3, gcs, azure"
        return LEGACY_MODELS[store], (), ""
    return LEGACY_MODELS[key], (), ""
