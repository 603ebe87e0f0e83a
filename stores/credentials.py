"""Bucket credentials, resolved in one order (importing this module loads only the stdlib).

Each setting (access key, endpoint, region, account key, service-account key, ...) is taken from
the **first** of these sources that has it:

1. **The key file mounted at the secret's mountPath**: ``<secret.mountPath>/<item.path>`` of the
   connection (its only item, else ``key.json``: the renderer's rule); for a
   store known only by name (in-run lookup) the legacy place ``/plx-secrets/<name>/key.json``.
2. **The env vars the rendered pod carries for this connection**: the key file named by
   ``POLYAXON_CONNECTION_<NAME>_KEY_FILE`` (see :func:`stores.keyfile.key_file_env`), then the
   connection's ``identity`` (workload identity: role ARN / client id and the projected token's
   path), then its own literal ``env`` entries.
3. **The standard SDK variables** of the process: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
   ``AWS_SESSION_TOKEN`` / ``AWS_SECURITY_TOKEN``, ``AWS_ENDPOINT_URL``, ``AWS_REGION`` /
   ``AWS_DEFAULT_REGION``, ``AWS_CA_BUNDLE``, ``AWS_ROLE_ARN`` + ``AWS_WEB_IDENTITY_TOKEN_FILE``
   (web identity, what EKS's webhook sets); ``AZURE_CLIENT_ID``, ``AZURE_TENANT_ID``,
   ``AZURE_FEDERATED_TOKEN_FILE`` (Azure Workload Identity); ``GOOGLE_APPLICATION_CREDENTIALS``,
   ``GOOGLE_CLOUD_PROJECT``, ``STORAGE_EMULATOR_HOST``; ``AZURE_STORAGE_CONNECTION_STRING``,
   ``AZURE_STORAGE_ACCOUNT_NAME`` / ``_KEY`` / ``_SAS_TOKEN`` (and the ``AZURE_ACCOUNT_NAME``,
   ``AZURE_ACCOUNT_KEY``, ``AZURE_CONNECTION_STRING``, ``AZURE_SAS_TOKEN`` spellings of Polyaxon's key files).
4. **The SDK's own default chain** (AWS profiles and instance metadata, ``google.auth.default``,
   ``DefaultAzureCredential``): whatever is still unset is left to the SDK.

``POLYAXON_VERIFY_SSL``, ``POLYAXON_SSL_CA_CERT`` and ``POLYAXON_TIMEOUT`` apply to every kind
(TLS settings reach S3 clients; adlfs and gcsfs take the timeout only).

Key files are JSON objects: S3 and Azure ones map the variable names above to values; a GCS one
is a service-account key (a ``private_key`` whose newlines were escaped as ``\\n`` is repaired).

Every absolute key-file path that comes from the pod spec (mountPaths, the per-connection
variable) is read under ``$STORES_SECRETS_ROOT`` when that is set, so tests and local debugging
can re-root ``/plx-secrets`` into a temporary directory.

Secret values never appear in a repr, a log line or an error message: :class:`Credentials`
shows setting names and where each came from, and :meth:`Credentials.redact` scrubs messages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import redact as _redact
from .errors import CredentialsError, SecretFormatError
from .keyfile import KEY_FILE, SECRETS_ROOT, key_file_env, key_file_path
from .kinds import KINDS

__all__ = [
    "ENV_SECRETS_ROOT",
    "LEGACY_SECRETS_ROOT",
    "KEY_FILE",
    "SECRET_SETTINGS",
    "SECRET_VARIABLES",
    "Credentials",
    "key_file_env",
    "key_file_path",
    "resolve_credentials",
]

ENV_SECRETS_ROOT = "STORES_SECRETS_ROOT"
LEGACY_SECRETS_ROOT = SECRETS_ROOT

# settings every kind takes from the Polyaxon client context
_COMMON: dict[str, tuple[str, ...]] = {
    "verify_ssl": ("POLYAXON_VERIFY_SSL",),
    "ca_bundle": ("POLYAXON_SSL_CA_CERT",),
    "timeout": ("POLYAXON_TIMEOUT",),
}
#: settings whose values are secret (never shown)
SECRET_SETTINGS = frozenset({"secret_key", "token", "account_key", "connection_string", "sas_token", "service_account"})
#: variables whose values are secret: a pod gets them from a Secret, never as a literal value
#: (the list, and the rule for other secret-ish names, live in :mod:`stores.redact`)
SECRET_VARIABLES = _redact.SECRET_VARIABLES
assert {name for entry in KINDS.values() for setting, names in entry.credential_vars if setting in SECRET_SETTINGS
        for name in names} <= SECRET_VARIABLES, "a secret setting's variable is missing from stores.redact"


def _reroot(path: str, environ: Mapping[str, str], secrets_root: str | None) -> str:
    root = secrets_root if secrets_root is not None else environ.get(ENV_SECRETS_ROOT)
    if root and os.path.isabs(path):
        return os.path.join(root, path.lstrip("/"))
    return path


@dataclass(frozen=True, repr=False)
class Credentials:
    """Resolved settings for one store.  ``settings`` holds values (some secret); ``sources``
    says where each came from; ``searched`` lists the key files and variables looked at."""

    kind: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)
    searched: tuple[str, ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def describe(self) -> dict[str, str]:
        """``{setting: source}``; values of non-secret settings are shown (scrubbed by
        :func:`stores.redact.redact_text`: an endpoint's ``user:password@`` is not shown), secret
        ones never."""
        return {
            k: (self.sources[k] if k in SECRET_SETTINGS else f"{self.redact(str(self.settings[k]))} ({self.sources[k]})")
            for k in self.settings
        }

    def redact(self, text: str) -> str:
        """``text`` with every secret value (whatever its type and length), URL credentials and
        signed-URL query values replaced by ``***`` (the policy of :mod:`stores.redact`)."""
        return _redact.redact_text(text, [self.settings[k] for k in SECRET_SETTINGS & set(self.settings)])

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}<-{self.sources[k]}" for k in sorted(self.settings))
        return f"Credentials(kind={self.kind!r}, {parts or 'SDK default chain'})"

    __str__ = __repr__


def _read_key_file(path: str, kind: str) -> dict[str, Any]:
    from .reader import MAX_SECRET_BYTES, load_json, read_file

    # a mounted Secret's file: regular, at most a Secret's 1 MiB; the content is secret, so the
    # messages say where, not what
    raw = read_file(path, what="key file", limit=MAX_SECRET_BYTES,
                    error=lambda m: CredentialsError(f"cannot read key file {path}: {m}"))
    doc = load_json(raw, what=f"key file {path}", error=SecretFormatError)
    if not isinstance(doc, dict):
        raise SecretFormatError(f"key file {path} must hold a JSON object, got {type(doc).__name__}")
    return _settings_from_doc(doc, kind, f"key file {path}")


def _fix_private_key(doc: dict[str, Any]) -> dict[str, Any]:
    key = doc.get("private_key")
    if isinstance(key, str) and "\n" not in key and "\\n" in key:
        doc = {**doc, "private_key": key.replace("\\n", "\n")}
    return doc


def _settings_from_doc(doc: Mapping[str, Any], kind: str, where: str) -> dict[str, Any]:
    entry = KINDS[kind]
    if entry.key_format == "service_account":
        if "type" not in doc:
            raise SecretFormatError(f"{where}: a GCS key file must be a service-account key (no 'type' field)")
        if doc.get("type") == "service_account" and not all(doc.get(k) for k in ("client_email", "private_key")):
            raise SecretFormatError(f"{where}: a service-account key needs 'client_email' and 'private_key'")
        out: dict[str, Any] = {"service_account": _fix_private_key(dict(doc))}
        if doc.get("project_id"):
            out["project"] = doc["project_id"]
        return out
    out = _settings_from_vars(doc, kind)
    pair = entry.paired_settings
    if pair is not None and (pair[0] in out) != (pair[1] in out):
        first, second = (entry.credential_table[setting][0] for setting in pair)
        raise SecretFormatError(f"{where}: {first} and {second} go together")
    return out


def _settings_from_vars(values: Mapping[str, Any], kind: str, common: bool = False) -> dict[str, Any]:
    entry = KINDS.get(kind)
    table = entry.credential_table if entry is not None else {}
    if common:
        for setting, names in _COMMON.items():
            table[setting] = names + table.get(setting, ())
    out: dict[str, Any] = {}
    for setting, names in table.items():
        for name in names:
            value = values.get(name)
            if value not in (None, ""):
                out[setting] = value
                break
    return out


def resolve_credentials(
    kind: str,
    *,
    connection: Any = None,
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
    secrets_root: str | None = None,
    key_file: str | None = None,
) -> Credentials:
    """Resolve the settings of a ``kind`` store in the documented order.

    ``connection`` (a model) gives the secret mount and literal env; ``name`` alone (in-run
    lookup) gives the legacy mount ``/plx-secrets/<name>/key.json`` and the per-connection
    variable; ``key_file`` is an explicit key file that comes before everything else.
    """
    env = os.environ if environ is None else environ
    name = name or getattr(connection, "name", None)
    entry = KINDS.get(kind)
    if entry is None or not entry.credential_vars:
        return Credentials(kind)
    search = _Search(kind, env, secrets_root)
    if key_file:
        search.from_file(key_file, must_exist=True)
    _from_mounts(search, connection, name)
    _from_identity(search, connection)
    _from_connection_env(search, connection)
    _from_environment(search)
    # 4. anything still unset is left to the SDK's default chain
    return Credentials(kind, search.settings, search.sources, tuple(search.searched))


class _Search:
    """The settings found so far (the first source of each wins), where each came from, and
    every place looked at."""

    def __init__(self, kind: str, env: Mapping[str, str], secrets_root: str | None) -> None:
        self.kind, self.env, self.secrets_root = kind, env, secrets_root
        self.settings: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.searched: list[str] = []

    def merge(self, found: Mapping[str, Any], label: str) -> None:
        for key, value in found.items():
            if key not in self.settings:
                self.settings[key] = value
                self.sources[key] = label

    def from_file(self, path: str, must_exist: bool) -> None:
        self.searched.append(path)
        if os.path.isfile(path):
            self.merge(_read_key_file(path, self.kind), f"key file {path}")
        elif must_exist:
            raise CredentialsError(f"key file {path} does not exist")

    def reroot(self, path: str) -> str:
        return _reroot(path, self.env, self.secrets_root)


def _from_mounts(search: _Search, connection: Any, name: str | None) -> None:
    """Steps 1 and 2: the key file at the secret's mountPath, then the file the rendered pod's
    per-connection variable points at."""
    # 1. the key file at the secret's mountPath
    mounted = key_file_path(connection) if connection is not None else None
    if mounted is None and name and (connection is None or connection.secret is None):
        mounted = f"{LEGACY_SECRETS_ROOT}/{name}/{KEY_FILE}"
    if mounted:
        search.from_file(search.reroot(mounted), must_exist=False)
    # 2. what the rendered pod carries for this connection
    if name:
        var = key_file_env(name)
        search.searched.append(f"${var}")
        if search.env.get(var):
            # the renderer points at a file it mounted: a missing one is a broken pod, say so
            search.from_file(search.reroot(search.env[var]), must_exist=True)


#: settings naming a workload identity's token file
_TOKEN_FILES = ("web_identity_token_file", "federated_token_file")


def _from_identity(search: _Search, connection: Any) -> None:
    """The connection's workload identity (``identity:``): its cloud fields (role ARN, client id,
    ...) and the projected token's path (the variable a webhook or the renderer set, else the
    place the renderer mounts it).  No key: the SDK exchanges the token."""
    identity = getattr(connection, "identity", None)
    row = KINDS[search.kind].identity
    if identity is None or row is None:
        return
    found: dict[str, Any] = {"workload_identity": identity.service_account}
    for field_name in row.fields:
        if getattr(identity, field_name, None) is not None:
            found[field_name] = getattr(identity, field_name)
    if row.token_env:
        setting = next(s for s, names in KINDS[search.kind].credential_vars if row.token_env in names)
        token_file = search.env.get(row.token_env) or row.token_path
        if token_file is None:
            raise ValueError(f"the {search.kind} identity row names {row.token_env} but no token_path")
        found[setting] = search.reroot(token_file)
    search.merge(found, "connection identity")


def _from_connection_env(search: _Search, connection: Any) -> None:
    """The literal env vars of the connection."""
    literal = {e.name: e.value for e in getattr(connection, "env", ()) if e.value is not None}
    if literal:
        search.merge(_settings_from_vars(literal, search.kind, common=True), "connection env")


def _from_environment(search: _Search) -> None:
    """Step 3: the standard SDK variables (``GOOGLE_APPLICATION_CREDENTIALS`` read as a key file)."""
    env, kind = search.env, search.kind
    search.searched.append("environment")
    std = _settings_from_vars(env, kind, common=True)
    gac = std.pop("credentials_file", None)
    if gac and "service_account" not in search.settings:
        path = search.reroot(gac) if not os.path.isfile(gac) else gac
        search.searched.append(path)
        search.merge(_read_key_file(path, kind), "$GOOGLE_APPLICATION_CREDENTIALS")
    for token in _TOKEN_FILES:
        # a projected token's path, as a webhook or the renderer set it (re-rooted like key files)
        if std.get(token) and not os.path.isfile(std[token]):
            std[token] = search.reroot(std[token])
    search.merge(std, "environment")
