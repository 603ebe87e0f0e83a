"""Name and path rules shared by every spelling (tier 0: stdlib only).

Each checker returns the normalised value or raises ``ValueError`` with a message that quotes the
bad value (except secret material: see ``stores.redact``); the callers attach the document path.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from .contract.names import CONTEXT_PATH  # the run layout lives there
from .kinds import KINDS
from .redact import WHERE_SECRETS_GO, url_secret

__all__ = [
    "DNS1123_LABEL",
    "SECRET_KEY",
    "BucketURL",
    "check_name",
    "check_secret_key",
    "check_resource_name",
    "check_env_name",
    "check_annotation_key",
    "ANNOTATION_NAME",
    "DNS1123_SUBDOMAIN",
    "ENV_NAME",
    "check_mount_path",
    "check_host_path",
    "check_relative_path",
    "PATH_MAX",
    "parse_bucket",
    "CONTEXT_PATH",
    "CONNECTION_NAME",
    "MAX_CONNECTION_NAME",
    "OCTAL_MODE",
    "check_connection_name",
    "check_other_name",
    "is_dns1123_label",
]

# Kubernetes' own rules (apimachinery validation): a DNS-1123 label, and a ConfigMap/Secret key.
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
ENV_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
_DNS1123 = re.compile(DNS1123_LABEL)
_SECRET_KEY = re.compile(SECRET_KEY)
_DNS1123_SUB = re.compile(DNS1123_SUBDOMAIN)
_ENV_NAME = re.compile(ENV_NAME)
#: the name part of a qualified name (annotation keys): apimachinery's ``IsQualifiedName``
ANNOTATION_NAME = r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
_ANNOTATION_NAME = re.compile(ANNOTATION_NAME)


#: A connection name: Polyaxon takes any string (``test_s3``, ``data.v1``); we take letters,
#: digits, ``_``, ``.`` and ``-``, starting and ending with a letter or digit, so that every name
#: derived from it (volume and container names, env var names, ``NAME:path`` arguments, JSON keys)
#: can be formed.  Names that are DNS-1123 labels are used unchanged where Polyaxon uses them.
CONNECTION_NAME = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
MAX_CONNECTION_NAME = 253
_CONNECTION_NAME = re.compile(CONNECTION_NAME)
#: a file mode written as a string: octal digits, as chmod reads them ("0400", "644")
OCTAL_MODE = re.compile(r"0?[0-7]{1,3}")


def check_name(value: str, what: str = "name") -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > 63 or not _DNS1123.fullmatch(value):
        raise ValueError(
            f"{what} must be a DNS-1123 label (lower-case letters, digits and '-', "
            f"starting and ending with a letter or digit, at most 63 characters), got {value!r}"
        )
    return value


def check_connection_name(value: str, what: str = "connection name") -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_CONNECTION_NAME or not _CONNECTION_NAME.fullmatch(value):
        raise ValueError(
            f"{what} must be letters, digits, '_', '.' and '-', starting and ending with a letter "
            f"or digit, at most {MAX_CONNECTION_NAME} characters, got {value!r}"
        )
    return value


def check_other_name(value: str, what: str = "connection name") -> str:
    """The name of a connection of Polyaxon's other kinds: any printable text."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_CONNECTION_NAME or not value.isprintable():
        raise ValueError(f"{what} must be printable text of at most {MAX_CONNECTION_NAME} characters, got {value!r}")
    return value


def is_dns1123_label(value: str) -> bool:
    """Whether ``value`` can name a volume or container as it is."""
    return len(value) <= 63 and _DNS1123.fullmatch(value) is not None


def check_resource_name(value: str) -> str:
    """A Secret, ConfigMap or PVC name: a DNS-1123 subdomain."""
    if not isinstance(value, str) or not value or len(value) > 253 or not _DNS1123_SUB.fullmatch(value):
        raise ValueError(
            "a Kubernetes resource name must be a DNS-1123 subdomain (lower-case letters, digits, "
            f"'-' and '.', at most 253 characters), got {value!r}"
        )
    return value


def check_secret_key(value: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 253 or not _SECRET_KEY.fullmatch(value):
        raise ValueError(
            f"a secret/config map key must consist of letters, digits, '-', '_' or '.', got {value!r}"
        )
    if value in (".", ".."):
        raise ValueError(f"a secret/config map key may not be {value!r}")
    return value


def check_env_name(value: str) -> str:
    if not isinstance(value, str) or not _ENV_NAME.fullmatch(value):
        raise ValueError(f"not a valid environment variable name: {value!r}")
    return value


def check_annotation_key(value: str) -> str:
    """An annotation key as the API server wants it: ``[prefix/]name``, the prefix a DNS-1123
    subdomain, the name at most 63 letters, digits, ``-``, ``_`` or ``.`` starting and ending
    alphanumeric."""
    prefix, slash, name = value.rpartition("/") if isinstance(value, str) else ("", "", value)
    ok = (
        isinstance(name, str)
        and 0 < len(name) <= 63
        and _ANNOTATION_NAME.fullmatch(name) is not None
        and (not slash or (len(prefix) <= 253 and _DNS1123_SUB.fullmatch(prefix) is not None))
    )
    if not ok:
        raise ValueError(
            "an annotation key must be [prefix/]name: the prefix a DNS-1123 subdomain, the name at most "
            f"63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit; got {value!r}"
        )
    return value


#: what no name or path may hold: C0/C1 control characters (a trailing newline passes a
#: ``$``-anchored rule, and a NUL ends a C string) and lone surrogates (not encodable as UTF-8)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

#: Linux's PATH_MAX: no system call takes a longer path, so no pod can mount one
#: (the same value as ``stores.reader.PATH_MAX``, repeated so this module imports nothing else)
PATH_MAX = 4096


def _check_length(value: str, what: str) -> None:
    if len(value) > PATH_MAX:
        # the value itself is not quoted: it is over 4 KB
        raise ValueError(f"{what} is {len(value)} characters long; at most PATH_MAX ({PATH_MAX}) are allowed")


def _normalise_absolute(value: str, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    _check_length(value, what)
    if _CONTROL.search(value):
        raise ValueError(f"{what} may not contain control characters or lone surrogates, got {value!r}")
    if not value.startswith("/"):
        raise ValueError(f"{what} must be absolute (start with '/'), got {value!r}")
    if ".." in value.split("/"):
        raise ValueError(f"{what} may not contain '..', got {value!r}")
    norm = posixpath.normpath(value)
    # normpath keeps a leading '//' (POSIX allows it to mean something else); we do not.
    return "/" + norm.lstrip("/")


def check_mount_path(value: str) -> str:
    """Absolute, normalised, no ``..``; ``/`` itself cannot be a mount point."""
    norm = _normalise_absolute(value, "mountPath")
    if norm == "/":
        raise ValueError(f"mountPath may not be the root '/', got {value!r}")
    return norm


def check_host_path(value: str) -> str:
    return _normalise_absolute(value, "hostPath")


def check_relative_path(value: str, what: str = "subPath") -> str:
    """A relative path that stays inside its root (``subPath``, item ``path``)."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    _check_length(value, what)
    if value.startswith("/"):
        raise ValueError(f"{what} must be relative, got {value!r}")
    if _CONTROL.search(value):
        raise ValueError(f"{what} may not contain control characters or lone surrogates, got {value!r}")
    if ".." in value.split("/"):
        raise ValueError(f"{what} may not contain '..', got {value!r}")
    return posixpath.normpath(value)


@dataclass(frozen=True)
class BucketURL:
    """A parsed bucket URL.  ``url`` is the normalised form used in the env contract."""

    scheme: str
    bucket: str
    path: str = ""
    account: str | None = None

    @property
    def url(self) -> str:
        if self.account is not None:
            base = f"{self.scheme}://{self.bucket}@{self.account}.blob.core.windows.net/"
            return base + self.path
        base = f"{self.scheme}://{self.bucket}"
        return f"{base}/{self.path}" if self.path else base

    @property
    def root(self) -> str:
        """The fsspec path of the store's root: ``bucket[/prefix]``."""
        return f"{self.bucket}/{self.path}".rstrip("/") if self.path else self.bucket


#: the bucket-name rules of the kinds table, compiled once
_BUCKET_NAME = {k: re.compile(r.bucket_name) for k, r in KINDS.items() if r.bucket_name}
_ACCOUNT_NAME = {k: re.compile(r.account_name) for k, r in KINDS.items() if r.account_name}
_ACCOUNT_URL = {k: re.compile(r.account_url) for k, r in KINDS.items() if r.account_url}


def _clean_prefix(path: str, original: str) -> str:
    path = path.strip("/")
    if not path:
        return ""
    parts = path.split("/")
    if ".." in parts or "." in parts or "" in parts:
        raise ValueError(f"bucket prefix may not contain empty, '.' or '..' segments, got {original!r}")
    if _CONTROL.search(path):
        raise ValueError(f"bucket prefix may not contain control characters or lone surrogates, got {original!r}")
    return path


def parse_bucket(kind: str, value: str, label: str | None = None) -> BucketURL:
    """Parse a bucket URL for ``kind`` (``s3``, ``gcs``, ``wasb``); ``label`` is the store name
    the message uses (the legacy spelling says ``azure`` where the current one says ``wasb``)."""
    label = label or kind
    entry = KINDS[kind]
    schemes, example = entry.schemes, entry.example
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a bucket URL like {example} for store {label}, got {value!r}")
    secret = url_secret(value)
    if secret is not None:
        # the URL is written into the pod spec and the connections catalog in plain text; the
        # message says what and where, and never quotes the value (stores.redact's policy)
        raise ValueError(
            f"the bucket URL of store {label} holds {secret}, which would travel in plain text "
            f"(pod spec, connections catalog); write it as {example} and {WHERE_SECRETS_GO}; "
            "the value is not shown"
        )
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in schemes:
        article = entry.article  # "an s3://", but "a gs://", "a wasbs://"
        raise ValueError(f"expected {article} {schemes[0]}:// URL for store {label}, got {value!r}")
    account_url = _ACCOUNT_URL.get(kind)
    if account_url is not None:  # container@account.<host>: Azure's spelling
        m = account_url.fullmatch(value)
        if not m:
            raise ValueError(
                f"expected a URL like {example} for store {label}, got {value!r}"
            )
        container, account = m.group(2), m.group(3)
        if not _BUCKET_NAME[kind].fullmatch(container):
            raise ValueError(f"not a valid Azure container name {container!r} in {value!r}")
        if not _ACCOUNT_NAME[kind].fullmatch(account):
            raise ValueError(f"not a valid Azure storage account name {account!r} in {value!r}")
        return BucketURL(scheme, container, _clean_prefix(m.group(4) or "", value), account)
    bucket, _, path = rest.partition("/")
    if not _BUCKET_NAME[kind].fullmatch(bucket):
        raise ValueError(f"not a valid {label} bucket name {bucket!r} in {value!r}")
    return BucketURL(scheme, bucket, _clean_prefix(path, value))
