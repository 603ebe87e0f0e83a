"""The one table of connection kinds (tier 0: stdlib only).

Everything that differs by kind and is not a model field lives here, one :class:`KindRow` per
kind: URL schemes and bucket rules, credential variables and key-file rules, and the code that
differs (store volume, fsspec backend and options, transfer steps) named as ``"module:function"``
and imported only when used.  Callers look the row up (``row(kind)``, ``KINDS[kind]``); no other
module compares a kind with a name (``tests/catalog/test_kinds.py`` checks).
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any, Callable

from .keyfile import KEY_FILE

__all__ = [
    "CsiDriver",
    "IdentityRow",
    "KindInfo",
    "KindRow",
    "NameRule",
    "KINDS",
    "IDENTITY_TOKEN_VOLUME",
    "IDENTITY_TOKEN_SECONDS",
    "row",
    "resolve",
    "LEGACY_STORES",
    "OTHER_KINDS",
    "ALL_KINDS",
]


@dataclass(frozen=True)
class NameRule:
    """A key a store cannot hold (or read) exactly: ``pattern`` found in it refuses the entry with
    ``message``.  When several rules of the two sides of a transfer match, the lowest ``order``
    speaks."""

    order: int
    pattern: str
    message: str


@dataclass(frozen=True)
class CsiDriver:
    """How a bucket of one kind is mounted as a filesystem through its vendor's CSI driver (the
    connection's ``mount:``).  ``provisioning`` is the driver's documented model: ``"inline"``
    (a CSI ephemeral volume in the pod itself) or ``"static"`` (a PersistentVolume + claim pair
    the renderer emits next to the patch); ``build`` makes the pieces (``k8s.csi``)."""

    #: the driver's name, as its ``CSIDriver`` object and every ``csi.driver`` field spell it
    driver: str
    #: ``"inline"`` or ``"static"``
    provisioning: str
    #: ``(connection, volume name, namespace) -> k8s.csi.CsiParts``
    build: str
    #: the driver's own documentation of the fields we render
    docs: str
    #: what the bucket prefix becomes in the driver's mount options (``{}``: the prefix)
    prefix_option: str
    #: characters a prefix cannot hold when it is spelt so (the options' own separators), and
    #: how messages name them
    prefix_refuses: str = r"\s"
    prefix_refuses_text: str = "whitespace"


@dataclass(frozen=True)
class IdentityRow:
    """How a bucket kind's workload identity reaches a pod (a connection's ``identity:``): the
    pod runs as a Kubernetes ServiceAccount that the cloud trusts, and never carries a key.

    ``fields`` are the identity settings of the kind (snake_case, the model's attribute names),
    ``required`` those a connection must give; ``sa_annotations`` put some of them on the
    ServiceAccount (``(annotation, field)``), ``pod_labels`` go on the pod.  When no admission
    webhook injects them (``identity.webhook: false``), the renderer mounts a projected
    serviceAccountToken (``audience``, at ``token_path``) and sets ``token_env`` to its path and
    each ``(variable, field)`` of ``field_env``.  A kind without ``token_path`` (GKE) needs no
    token: its metadata server answers for the ServiceAccount."""

    #: the cloud's name for the mechanism, for messages and docs
    provider: str
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    sa_annotations: tuple[tuple[str, str], ...] = ()
    pod_labels: tuple[tuple[str, str], ...] = ()
    #: the projected token: where it is mounted (a file), its audience, the variable naming it
    token_path: str | None = None
    audience: str | None = None
    token_env: str | None = None
    #: ``(variable, identity field)`` set on the containers that use the connection
    field_env: tuple[tuple[str, str], ...] = ()


#: what the renderer names the projected token volume
IDENTITY_TOKEN_VOLUME = "plx-identity-token"
#: the projected token's lifetime (seconds): the kubelet rotates it at 80% of that
IDENTITY_TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class KindRow:
    """Everything that differs by kind and is not a model field.  Code is named as
    ``"module:function"`` and imported only when used (:func:`resolve`): this module loads only
    the stdlib."""

    kind: str
    is_bucket: bool
    #: the legacy ``persistence.*.store`` value for buckets
    legacy_store: str | None = None
    #: the pip extra that brings the backend
    extra: str | None = None
    #: the article before the kind's name and its canonical scheme in messages ("an s3://")
    article: str = "a"
    #: modules that must import for a handle of this kind
    modules: tuple[str, ...] = ()

    # -- URLs ----------------------------------------------------------------------------------
    #: the URL schemes a document may use; the first is the canonical one
    schemes: tuple[str, ...] = ()
    #: schemes ``open_store`` also takes, read as the canonical one (``s3a://`` is ``s3://``)
    scheme_aliases: tuple[str, ...] = ()
    #: what a bucket URL looks like, for messages
    example: str | None = None
    #: a bucket (container) name
    bucket_name: str | None = None
    #: the storage account name, for kinds whose URLs name one (``container@account.<host>``)
    account_name: str | None = None
    #: the whole URL of such a kind: groups scheme, container, account, prefix
    account_url: str | None = None
    #: the bucket URL as a JSON-schema pattern (RE2: no look-ahead), and patterns it must match too
    bucket_pattern: str | None = None
    bucket_extra_patterns: tuple[str, ...] = ()

    # -- credentials ---------------------------------------------------------------------------
    #: setting -> the variables (in key files and environments) that carry it, first one wins
    credential_vars: tuple[tuple[str, tuple[str, ...]], ...] = ()
    #: ``"variables"``: a key file maps those variables to values; ``"service_account"``: it is
    #: a service-account key
    key_format: str = "variables"
    #: two settings a key file gives both or neither of
    paired_settings: tuple[str, str] | None = None
    #: the key file's required keys (Polyaxon docs, "Customize Data and Outputs": the secrets
    #: of s3, gcs and azure stores); any one of each tuple suffices
    required_keys: tuple[tuple[str, ...], ...] = ()
    #: every key the key file may carry
    known_keys: tuple[str, ...] = ()
    #: whether keys outside ``known_keys`` are refused (a typo would silently lose a credential)
    strict_keys: bool = True
    #: the file name the key is mounted as when the secret's items do not say (Polyaxon's docs
    #: create the GCS secret with ``--from-file=gc-secret.json=...``)
    key_file: str = KEY_FILE
    #: the variable the kind's SDKs read a key file's path from
    sdk_key_file_env: str | None = None
    #: why a key given as env vars (a secret without a mountPath) will not work, when it will not
    key_needs_file: str | None = None
    #: workload identity (a connection's ``identity:``): ``None`` for kinds without
    identity: IdentityRow | None = None

    # -- code, as "module:function" ------------------------------------------------------------
    #: ``(connection, namer) -> (volume, mount)``: the store volume (None: buckets have none)
    volume: str | None = None
    #: ``(credentials, account) -> filesystem``: the fsspec filesystem of a handle
    backend: str = "stores.backends:local_fs"
    #: ``(credentials, options, timeout, account) -> None``: the kind's filesystem options
    fs_options: str | None = None
    #: ``(handle, path) -> info``: one object's info, when ``fs.info`` and the native HEAD will not
    #: do (Azure: the Content-MD5 the listing has too); raises FileNotFoundError
    stat: str | None = None
    #: ``(handle, beat) -> {key: info}``: every object under the root, when ``fs.find`` will not
    #: do; ``beat()`` (if given) after each page, for the stall watch
    lister: str | None = None
    #: uploads a file to a store of this kind in its own way (else one streamed write)
    uploader: str | None = None
    #: ``(handle, key, md5 digest)``: what follows a streamed write
    after_write: str | None = None
    #: ``(handle, key)``: deletes exactly one object
    deleter: str | None = None
    #: ``(credentials, bucket, account) -> store | None``: the native (obstore) store the transfer
    #: engine sends plain keys through (:mod:`stores.transfer.native`); None: everything through
    #: fsspec.  A kind with a ``lister`` keeps it (it reads what the native listing lacks)
    native_store: str | None = None
    #: ``(handle, path) -> int | None``: the size of the first part of a multipart object, as the
    #: store tells it (``--checksum`` checks a multipart ETag in that part size)
    first_part_size: str | None = None
    #: keys a store of this kind cannot store, or cannot read, exactly
    write_rules: tuple[NameRule, ...] = ()
    read_rules: tuple[NameRule, ...] = ()

    # -- mounting the bucket as a filesystem -----------------------------------------------------
    #: the CSI driver a connection's ``mount:`` uses (``None``: the kind cannot be mounted so)
    csi: CsiDriver | None = None

    @property
    def credential_table(self) -> dict[str, tuple[str, ...]]:
        return dict(self.credential_vars)

    def code(self, attr: str) -> Callable[..., Any] | None:
        """The function named by field ``attr``, imported now; ``None`` when the field is."""
        ref = getattr(self, attr)
        return resolve(ref) if ref is not None else None


#: compatibility name of the row type
KindInfo = KindRow

_CONTROL = r"[\x00-\x1f\x7f]"

KINDS: dict[str, KindRow] = {
    "host_path": KindRow(
        "host_path",
        is_bucket=False,
        schemes=("file",),
        volume="k8s.volumes:_host_path",
    ),
    "volume_claim": KindRow(
        "volume_claim",
        is_bucket=False,
        volume="k8s.volumes:_claim",
    ),
    "s3": KindRow(
        "s3",
        is_bucket=True,
        legacy_store="s3",
        extra="s3",
        article="an",
        modules=("s3fs",),
        schemes=("s3",),
        scheme_aliases=("s3a",),
        example="s3://bucket[/prefix]",
        bucket_name=r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$",
        bucket_pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$",
        credential_vars=(
            ("access_key", ("AWS_ACCESS_KEY_ID",)),
            ("secret_key", ("AWS_SECRET_ACCESS_KEY",)),
            ("token", ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")),
            ("endpoint_url", ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")),
            ("region", ("AWS_REGION", "AWS_DEFAULT_REGION")),
            ("ca_bundle", ("AWS_CA_BUNDLE",)),
            ("verify_ssl", ("AWS_VERIFY_SSL",)),
            ("role_arn", ("AWS_ROLE_ARN",)),
            ("web_identity_token_file", ("AWS_WEB_IDENTITY_TOKEN_FILE",)),
            ("sts_endpoint_url", ("AWS_ENDPOINT_URL_STS",)),
        ),
        paired_settings=("access_key", "secret_key"),
        identity=IdentityRow(
            provider="AWS IAM roles for service accounts (IRSA) / EKS Pod Identity",
            fields=("role_arn",),
            sa_annotations=(("eks.amazonaws.com/role-arn", "role_arn"),),
            token_path="/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
            audience="sts.amazonaws.com",
            token_env="AWS_WEB_IDENTITY_TOKEN_FILE",
            field_env=(("AWS_ROLE_ARN", "role_arn"),),
        ),
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
        backend="stores.backends:s3_fs",
        fs_options="stores.backends:s3_options",
        uploader="stores.transfer.s3:_s3_upload",
        deleter="stores.transfer.s3:_rm_s3",
        native_store="stores.transfer.native:s3_store",
        first_part_size="stores.transfer.s3:_s3_first_part_size",
        # Mountpoint for Amazon S3 CSI driver (v1 and v2): static provisioning only
        csi=CsiDriver(
            driver="s3.csi.aws.com",
            provisioning="static",
            build="k8s.csi:mountpoint_s3",
            docs="https://github.com/awslabs/mountpoint-s3-csi-driver/blob/main/docs/CONFIGURATION.md",
            prefix_option="prefix {}",
        ),
    ),
    "gcs": KindRow(
        "gcs",
        is_bucket=True,
        legacy_store="gcs",
        extra="gcs",
        modules=("gcsfs",),
        schemes=("gs",),
        scheme_aliases=("gcs",),
        example="gs://bucket[/prefix]",
        bucket_name=r"^[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]$",
        bucket_pattern=r"^gs://[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9](/.*)?$",
        credential_vars=(
            ("credentials_file", ("GOOGLE_APPLICATION_CREDENTIALS",)),
            ("project", ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")),
            ("endpoint_url", ("STORAGE_EMULATOR_HOST",)),
        ),
        key_format="service_account",
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
        # a GCS key may carry fields Google adds later
        strict_keys=False,
        sdk_key_file_env="GOOGLE_APPLICATION_CREDENTIALS",
        identity=IdentityRow(
            provider="GKE Workload Identity",
            fields=("gcp_service_account",),
            sa_annotations=(("iam.gke.io/gcp-service-account", "gcp_service_account"),),
        ),
        key_needs_file=(
            "GCS key reaches the pod as env vars; Google's SDKs read a service-account key "
            "only from a file (GOOGLE_APPLICATION_CREDENTIALS)"
        ),
        backend="stores.backends:gcs_fs",
        fs_options="stores.backends:gcs_options",
        write_rules=(NameRule(3, r"[\r\n]", "GCS object names cannot hold CR or LF"),),
        # Cloud Storage FUSE CSI driver: CSI ephemeral volumes, with the sidecar-injection
        # annotation on the pod
        csi=CsiDriver(
            driver="gcsfuse.csi.storage.gke.io",
            provisioning="inline",
            build="k8s.csi:gcs_fuse",
            docs="https://cloud.google.com/kubernetes-engine/docs/how-to/persistent-volumes/cloud-storage-fuse-csi-driver-ephemeral",
            prefix_option="only-dir={}",
            prefix_refuses=r"[\s,]",
            prefix_refuses_text="whitespace or ','",
        ),
    ),
    "wasb": KindRow(
        "wasb",
        is_bucket=True,
        legacy_store="azure",
        extra="azure",
        modules=("adlfs",),
        schemes=("wasbs", "wasb"),
        example="wasbs://container@account.blob.core.windows.net/[prefix]",
        bucket_name=r"^(\$root|[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9])$",
        account_name=r"^[a-z0-9]{3,24}$",
        account_url=r"^(wasbs?)://([^@/]+)@([^./]+)\.blob\.core\.windows\.net(?:/(.*))?$",
        # the container's "no '--'" rule, spelt without the look-ahead of bucket_name (RE2 has
        # none); RE2 cannot bound the container's length inside it either: a second pattern does
        bucket_pattern=r"^wasbs?://(\$root|[a-z0-9](-?[a-z0-9])+)@[a-z0-9]{3,24}\.blob\.core\.windows\.net(/.*)?$",
        bucket_extra_patterns=(r"^wasbs?://[^@/]{3,63}@",),
        credential_vars=(
            ("connection_string", ("AZURE_CONNECTION_STRING", "AZURE_STORAGE_CONNECTION_STRING")),
            ("account_name", ("AZURE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_NAME")),
            ("account_key", ("AZURE_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_KEY")),
            ("sas_token", ("AZURE_SAS_TOKEN", "AZURE_STORAGE_SAS_TOKEN")),
            ("blob_endpoint", ("AZURE_BLOB_ENDPOINT", "AZURE_STORAGE_BLOB_ENDPOINT")),
            ("client_id", ("AZURE_CLIENT_ID",)),
            ("tenant_id", ("AZURE_TENANT_ID",)),
            ("federated_token_file", ("AZURE_FEDERATED_TOKEN_FILE",)),
            ("authority_host", ("AZURE_AUTHORITY_HOST",)),
        ),
        identity=IdentityRow(
            provider="Azure Workload Identity",
            fields=("client_id", "tenant_id"),
            required=("client_id",),
            sa_annotations=(("azure.workload.identity/client-id", "client_id"),
                            ("azure.workload.identity/tenant-id", "tenant_id")),
            pod_labels=(("azure.workload.identity/use", "true"),),
            token_path="/var/run/secrets/azure/tokens/azure-identity-token",
            audience="api://AzureADTokenExchange",
            token_env="AZURE_FEDERATED_TOKEN_FILE",
            field_env=(("AZURE_CLIENT_ID", "client_id"), ("AZURE_TENANT_ID", "tenant_id")),
        ),
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
        backend="stores.backends:azure_fs",
        fs_options="stores.backends:azure_options",
        lister="stores.transfer.azure:_list_azure",
        stat="stores.transfer.azure:_stat_azure",
        uploader="stores.transfer.azure:_azure_upload",
        native_store="stores.transfer.native:azure_store",
        after_write="stores.transfer.azure:_azure_set_md5",
        deleter="stores.transfer.azure:_rm_azure",
        write_rules=(NameRule(1, r"[\x00-\x1f\x7f\\]", "Azure Blob Storage cannot store this name exactly "
                              "(it drops control characters and turns '\\' into '/')"),),
        read_rules=(NameRule(2, _CONTROL, "a blob name with control characters cannot be read exactly through adlfs"),),
        # Azure Blob Storage CSI driver: inline (ephemeral) volumes with a secret in the pod's
        # namespace, mounted by blobfuse
        csi=CsiDriver(
            driver="blob.csi.azure.com",
            provisioning="inline",
            build="k8s.csi:azure_blob",
            docs="https://github.com/kubernetes-sigs/blob-csi-driver/blob/master/deploy/example/nginx-blobfuse-inline-volume.yaml",
            prefix_option="--subdirectory={}",
        ),
    ),
}


def row(kind: str) -> KindRow:
    """The row of a storage ``kind`` (``KeyError`` for any other)."""
    return KINDS[kind]


#: ``"module:function"`` -> the function, once imported (the renderer asks once per connection)
_RESOLVED: dict[str, Callable[..., Any]] = {}


def resolve(ref: str) -> Callable[..., Any]:
    """The function a ``"module:function"`` string names, imported on first use."""
    function = _RESOLVED.get(ref)
    if function is None:
        import importlib

        module, _, attr = ref.partition(":")
        function = _RESOLVED[ref] = getattr(importlib.import_module(module), attr)
    return function


#: legacy ``store:`` value -> kind
LEGACY_STORES: dict[str, str] = {
    r.legacy_store: k for k, r in KINDS.items() if r.legacy_store
}


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
