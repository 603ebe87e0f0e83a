"""Bucket credentials -> the ``V1Secret`` that
``kubectl create secret generic NAME --from-file=key.json=PATH`` makes (tier 1).

Key-file formats (the secrets of Polyaxon docs, "Customize Data and Outputs"), checked before
anything is built:

- ``s3``: ``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``; optional ``AWS_ENDPOINT_URL``,
  ``AWS_SECURITY_TOKEN``, ``AWS_REGION`` (and the other keys of ``KINDS["s3"].known_keys``);
- ``gcs``: a service-account key (``type``, ``client_email``, ``private_key``, ...);
- ``azure`` / ``wasb``: ``AZURE_ACCOUNT_NAME`` + ``AZURE_ACCOUNT_KEY``, or
  ``AZURE_CONNECTION_STRING`` (or a SAS token with the account name).

S3 and Azure key files are flat name -> string maps, and an unknown key is an error (a typo
would silently lose a credential); a GCS key may carry fields Google adds later.

Secret values appear only in the returned object's ``data`` (base64, as Kubernetes wants):
never in an error message, and not in the object's ``repr``/``str`` either.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Mapping

from ._client import V1ObjectMeta, V1Secret

from stores.errors import SecretFormatError
from stores.kinds import KINDS, LEGACY_STORES
from stores.keyfile import KEY_FILE
from stores.names import check_resource_name, check_secret_key
from stores.reader import MAX_SECRET_BYTES, load_json, read_file, size_text

__all__ = ["STRICT_KEYS", "RedactedSecret", "store_kind", "check_key_document", "parse_key_file", "build_secret", "secret_from_file"]

#: kind -> whether keys outside ``known_keys`` are refused
STRICT_KEYS: dict[str, bool] = {k: e.strict_keys for k, e in KINDS.items() if e.is_bucket}


class RedactedSecret(V1Secret):
    """A ``V1Secret`` whose ``repr`` and ``str`` show key names only."""

    def _shown(self) -> str:
        keys = sorted((self.data or {}) | (self.string_data or {}))
        name = self.metadata.name if self.metadata else None
        return f"V1Secret(name={name!r}, keys={keys!r}, values=<redacted>)"

    def __repr__(self) -> str:
        return self._shown()

    def __str__(self) -> str:
        return self._shown()

    def to_str(self) -> str:
        return self._shown()


def store_kind(store: str) -> str:
    """``s3``, ``gcs``, ``azure`` (the legacy spelling) or ``wasb`` -> the connection kind."""
    kind = LEGACY_STORES.get(store, store)
    if kind not in KINDS or not KINDS[kind].is_bucket:
        raise SecretFormatError(f"unknown store {store!r}; expected one of s3, gcs, azure")
    return kind


def check_key_document(doc: Any, store: str) -> dict[str, Any]:
    """Check a parsed key file for ``store``; the message names keys, never values."""
    kind = store_kind(store)
    info = KINDS[kind]
    if not isinstance(doc, dict):
        raise SecretFormatError(f"{info.article} {store} key file must be a JSON object, got {type(doc).__name__}")
    present = {k for k, v in doc.items() if isinstance(v, str) and v.strip()}
    missing = [" or ".join(group) for group in info.required_keys if not present.intersection(group)]
    if missing:
        raise SecretFormatError(f"the {store} key file lacks {', '.join(missing)}")
    if info.strict_keys:
        unknown = sorted(set(doc) - set(info.known_keys))
        if unknown:
            raise SecretFormatError(
                f"the {store} key file has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(info.known_keys)}"
            )
        not_strings = sorted(k for k, v in doc.items() if not isinstance(v, str))
        if not_strings:
            raise SecretFormatError(f"the {store} key file's values must be strings: {', '.join(not_strings)}")
    return doc


def parse_key_file(content: bytes, store: str, *, label: str = "key file") -> dict[str, Any]:
    """Parse and check key-file bytes; errors say where, not what the bytes were."""
    # stores.reader.load_json: UTF-8, nesting, duplicate keys (which one would the SDK read?)
    doc = load_json(content, what=label, error=SecretFormatError)
    return check_key_document(doc, store)


def _check_size(content: bytes) -> None:
    # the API server refuses a Secret whose data adds up to more than 1 MiB (MaxSecretSize):
    # https://kubernetes.io/docs/concepts/configuration/secret/#restriction-data-size
    if len(content) > MAX_SECRET_BYTES:
        raise SecretFormatError(
            f"the key file is {len(content)} bytes; Kubernetes limits a Secret's data to "
            f"{size_text(MAX_SECRET_BYTES)}"
        )


def build_secret(
    name: str,
    store: str,
    credentials: Mapping[str, Any] | bytes,
    *,
    namespace: str | None = None,
    key: str = KEY_FILE,
) -> RedactedSecret:
    """The secret holding one key file under ``key``.  ``credentials`` is the file's bytes (kept
    byte for byte, as kubectl does) or a mapping (written as sorted, indented JSON)."""
    try:
        check_resource_name(name)
        check_secret_key(key)
        if namespace is not None:
            check_resource_name(namespace)
    except ValueError as exc:
        raise SecretFormatError(str(exc)) from None
    if isinstance(credentials, (bytes, bytearray)):
        content = bytes(credentials)
        _check_size(content)
        parse_key_file(content, store)
    else:
        doc = check_key_document(dict(credentials), store)
        content = (json.dumps(doc, sort_keys=True, indent=2) + "\n").encode()
        _check_size(content)
    return RedactedSecret(
        api_version="v1",
        kind="Secret",
        metadata=V1ObjectMeta(name=name, namespace=namespace),
        type="Opaque",
        data={key: base64.b64encode(content).decode("ascii")},
    )


def secret_from_file(name: str, store: str, path: str | Path, *, namespace: str | None = None, key: str = KEY_FILE) -> RedactedSecret:
    """``build_secret`` from a key file on disk."""
    # a regular file of at most 1 MiB (a Secret's limit): a FIFO or /dev/zero is refused unread
    content = read_file(path, what="key file (a Secret's data)", limit=MAX_SECRET_BYTES,
                        error=lambda m: SecretFormatError(f"key file {str(path)!r}: {m}"))
    try:
        return build_secret(name, store, content, namespace=namespace, key=key)
    except SecretFormatError as exc:
        raise SecretFormatError(f"{path}: {exc}") from None
