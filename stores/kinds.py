"""The one table of connection kinds (tier 0: stdlib only).

Everything that differs by kind and is not a model field lives here, so callers dispatch with
``KINDS[kind]`` instead of scattering ``if kind == ...`` chains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .keyfile import KEY_FILE

__all__ = [
    "Kind",
    "KindInfo",
    "KINDS",
    "LEGACY_STORES",
    "BUCKET_KINDS",
    "VOLUME_KINDS",
    "OTHER_KINDS",
    "ALL_KINDS",
    "DEFAULT_KEY_FILE",
]

Kind = Literal["host_path", "volume_claim", "s3", "gcs", "wasb"]


@dataclass(frozen=True)
class KindInfo:
    kind: str
    is_bucket: bool
    #: the legacy ``persistence.*.store`` value for buckets
    legacy_store: str | None = None
    #: the pip extra that brings the backend
    extra: str | None = None
    #: modules that must import for a handle of this kind
    modules: tuple[str, ...] = ()
    #: the key file's required keys (credentials of seed 004); any one of each tuple suffices
    required_keys: tuple[tuple[str, ...], ...] = ()
    #: every key the key file may carry
    known_keys: tuple[str, ...] = ()
    #: the file name the key is mounted as when the secret's items do not say (Polyaxon's docs
    #: create the GCS secret with ``--from-file=gc-secret.json=...``)
    key_file: str = KEY_FILE


KINDS: dict[str, KindInfo] = {
    "host_path": KindInfo("host_path", is_bucket=False),
    "volume_claim": KindInfo("volume_claim", is_bucket=False),
    "s3": KindInfo(
        "s3",
        is_bucket=True,
        legacy_store="s3",
        extra="s3",
        modules=("s3fs",),
        required_keys=(("AWS_ACCESS_KEY_ID",), ("AWS_SECRET_ACCESS_KEY",)),
        known_keys=(
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SECURITY_TOKEN",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_CA_BUNDLE",
            "AWS_VERIFY_SSL",
        ),
    ),
    "gcs": KindInfo(
        "gcs",
        is_bucket=True,
        legacy_store="gcs",
        extra="gcs",
        modules=("gcsfs",),
        required_keys=(("type",), ("client_email",), ("private_key",)),
        key_file="gc-secret.json",
        known_keys=(
            "type",
            "project_id",
            "private_key_id",
            "private_key",
            "client_email",
            "client_id",
            "auth_uri",
            "token_uri",
            "auth_provider_x509_cert_url",
            "client_x509_cert_url",
            "universe_domain",
        ),
    ),
    "wasb": KindInfo(
        "wasb",
        is_bucket=True,
        legacy_store="azure",
        extra="azure",
        modules=("adlfs",),
        required_keys=(
            ("AZURE_ACCOUNT_NAME", "AZURE_CONNECTION_STRING"),
            ("AZURE_ACCOUNT_KEY", "AZURE_CONNECTION_STRING", "AZURE_SAS_TOKEN"),
        ),
        known_keys=(
            "AZURE_ACCOUNT_NAME",
            "AZURE_ACCOUNT_KEY",
            "AZURE_CONNECTION_STRING",
            "AZURE_SAS_TOKEN",
        ),
    ),
}

#: legacy ``store:`` value -> kind
LEGACY_STORES: dict[str, str] = {
    info.legacy_store: k for k, info in KINDS.items() if info.legacy_store
}
BUCKET_KINDS = tuple(k for k, i in KINDS.items() if i.is_bucket)
VOLUME_KINDS = tuple(k for k, i in KINDS.items() if not i.is_bucket)

#: the file name of a bucket's key file when nothing else says (the legacy spelling's ``key.json``)
DEFAULT_KEY_FILE = KEY_FILE

#: Polyaxon's other connection kinds (``V1ConnectionKind``, Polyaxon 2.18): no storage of ours,
#: but a catalog keeps them (validated for their common fields) so that a values file holding
#: them loads, and a run that names one gets its secret, config map and env as Polyaxon gives them.
OTHER_KINDS: tuple[str, ...] = (
    "registry", "git", "aws", "gcp", "azure", "mysql", "postgres", "oracle", "vertica", "sqlite",
    "mssql", "redis", "presto", "mongo", "cassandra", "ftp", "grpc", "hdfs", "http", "pig_cli",
    "hive_cli", "hive_metastore", "hive_server2", "jdbc", "jenkins", "samba", "snowflake", "ssh",
    "cloudant", "databricks", "segment", "slack", "teams", "email", "discord", "mattermost",
    "pagerduty", "hipchat", "webhook", "custom",
)
#: every kind a connection may have: the storage kinds first
ALL_KINDS: tuple[str, ...] = (*KINDS, *OTHER_KINDS)
