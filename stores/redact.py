"""The one secret-redaction policy (tier 0: stdlib only, imports in well under a millisecond).

Every way text leaves the project (error and problem messages, reprs, ``describe()``, CLI output)
goes through this module, and validation refuses what it recognises as secret material before it
can travel anywhere.  The rules:

**URLs.**  Credentials in a URL's user-info (``s3://KEY:SECRET@bucket``, ``https://TOKEN@host``)
are shown as ``scheme://***@host/...``.  The one user-info kept is Azure's
``wasbs://container@account...``, where the part before ``@`` is a container name (never holds a
``:``).  The values of credential-bearing query parameters (:data:`SECRET_QUERY_PARAMS`: ``sig``
of an Azure SAS token, ``X-Amz-Signature`` / ``X-Amz-Security-Token`` of an S3 presigned URL,
``X-Goog-Signature`` of a GCS signed URL, ``token``, ...) are shown as ``***``; the other
parameters of a signed URL (``sv``, ``se``, ``sp``, ``X-Amz-Expires`` ...) are kept, since they
say which permissions and expiry a failing request had and sign nothing by themselves.

**Bucket URLs are refused** (:func:`url_secret`) when they carry user-info credentials or the
query of a signed URL or SAS token (any of :data:`SECRET_QUERY_PARAMS` or
:data:`SIGNED_QUERY_PARAMS`): a bucket URL is written into the pod spec and the connections
catalog in plain text, so credentials belong in a Kubernetes Secret referenced by the
connection's ``secret:`` (or an env entry's ``valueFrom.secretKeyRef``).

**Env vars.**  :func:`is_secret_name` decides whether a variable holds a secret: the SDK variables
of :data:`SECRET_VARIABLES` and any name ending in a secret-ish word (``_SECRET``,
``_PASSWORD``, ``_TOKEN``, ``_ACCOUNT_KEY``, ``_CONNECTION_STRING``, ... see
:data:`SECRET_NAME_PATTERN`).  ``GOOGLE_APPLICATION_CREDENTIALS`` is not secret: it holds the
*path* of a key file (Google's "Application Default Credentials" docs), and the file is mounted
from a Secret.  ``AWS_ACCESS_KEY_ID`` and ``AZURE_STORAGE_ACCOUNT_NAME`` / ``AZURE_CLIENT_ID`` /
``AZURE_TENANT_ID`` are identifiers, not secrets (AWS: "the secret access key ... is the
secret"; Azure's ``EnvironmentCredential`` names only ``AZURE_CLIENT_SECRET``,
``AZURE_PASSWORD`` and the certificate password as secret).  A connection may not give a
secret-ish variable a literal ``value`` (it would be written into the pod spec); the error names
the variable, never the value, whatever its type.

**Known values.**  :func:`redact_text` also masks given secret values, whatever their type
(strings, numbers, bytes, the secret fields of a mapping such as a service-account key) and
length: a value of 4 characters or more is masked wherever it appears (as is, URL-encoded,
JSON-escaped, and for 8 characters or more base64-encoded; each line of a multi-line value such
as a PEM key too); a shorter one wherever it stands as a token of its own (not inside a longer
run of letters and digits), so that a secret like ``pw`` is masked in ``u:pw@host`` without
garbling every word holding those two letters.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms in-run)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "MASK",
    "SECRET_VARIABLES",
    "NOT_SECRET_VARIABLES",
    "SECRET_NAME_PATTERN",
    "SECRET_QUERY_PARAMS",
    "SIGNED_QUERY_PARAMS",
    "SIGNED_QUERY_PATTERN",
    "WHERE_SECRETS_GO",
    "is_secret_name",
    "mask_env_value",
    "redact_url",
    "url_secret",
    "secret_values",
    "redact_text",
]

MASK = "***"


class _Lazy:
    """A regular expression compiled on first use: compiling them all costs ~5 ms, and this
    module is imported by every error message's first scrub."""

    __slots__ = ("_args", "_rx")

    def __init__(self, *args: Any) -> None:
        self._args = args
        self._rx: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._rx is None:
            self._rx = re.compile(*self._args)
        return getattr(self._rx, name)

#: what a refusal says about where secret material belongs
WHERE_SECRETS_GO = (
    "put credentials in a Kubernetes Secret referenced by the connection's 'secret:' "
    "(or an env entry's valueFrom.secretKeyRef)"
)

#: the SDK variables whose values are secret (the ones ``stores.credentials`` reads, and those
#: the SDKs' default chains read: Azure's EnvironmentCredential, the az CLI's storage key)
SECRET_VARIABLES = frozenset({
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AZURE_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY",
    "AZURE_CONNECTION_STRING", "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_SAS_TOKEN", "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET", "AZURE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "POLYAXON_AUTH_TOKEN",
})
#: names the suffix rule would take but whose values are not secret (a path, the shell's cwd)
NOT_SECRET_VARIABLES = frozenset({"GOOGLE_APPLICATION_CREDENTIALS", "PWD", "OLDPWD"})
#: a secret-ish name: ends in one of these words (case-insensitive, words joined by ``_ - .``);
#: RE2-compatible, so the JSON Schema uses it as it is
SECRET_NAME_PATTERN = (
    r"(?i)(^|[-._])(SECRET|SECRETS|SECRET_KEY|SECRET_ACCESS_KEY|CLIENT_SECRET|PASSWORD|PASSWD|PWD|"
    r"PASSPHRASE|TOKEN|SAS|SAS_TOKEN|API_KEY|APIKEY|ACCOUNT_KEY|STORAGE_KEY|PRIVATE_KEY|SIGNING_KEY|"
    r"CONNECTION_STRING|CREDENTIALS)$"
)
_SECRET_NAME = _Lazy(SECRET_NAME_PATTERN)
#: fields of a key document (a service-account key, an OAuth client) whose values are secret
_SECRET_FIELDS = frozenset({"private_key", "private_key_id", "client_secret", "refresh_token"})

#: query parameters whose values are credentials (masked; their presence refuses a bucket URL)
SECRET_QUERY_PARAMS = frozenset({
    "sig", "signature", "x-amz-signature", "x-amz-security-token", "x-amz-credential",
    "x-goog-signature", "x-goog-credential", "token", "access_token", "sas", "password", "key",
    "api_key", "apikey", "awsaccesskeyid", "googleaccessid",
})
#: the other parameters of an Azure SAS token or a presigned / signed URL: kept when shown, but
#: a bucket URL that has them holds a SAS token or a signed URL and is refused
SIGNED_QUERY_PARAMS = frozenset({
    "sv", "ss", "srt", "sp", "se", "st", "spr", "sr", "si", "sdd", "ses", "skoid", "sktid", "skt",
    "ske", "sks", "skv", "saoid", "suoid", "scid",
    "x-amz-algorithm", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
    "x-goog-algorithm", "x-goog-date", "x-goog-expires", "x-goog-signedheaders", "expires",
})
_PARAMS = "|".join(sorted((p for p in SECRET_QUERY_PARAMS | SIGNED_QUERY_PARAMS), key=lambda p: (-len(p), p)))
#: a URL with a signed query; RE2-compatible (the JSON Schema refuses bucket URLs matching it)
SIGNED_QUERY_PATTERN = rf"(?i)[?&]({_PARAMS})="

_BUCKET_SCHEMES = frozenset({"s3", "s3a", "s3n", "gs", "gcs"})
# schemes whose user-info is a container name, not a credential (adlfs' ``az``/``abfs`` too)
_CONTAINER_SCHEMES = frozenset({"wasb", "wasbs", "abfs", "abfss", "az"})
#: ``scheme://USER:PASSWORD@``, the password possibly holding ``/`` (AWS secret keys do, and
#: people paste them unencoded): a ':' followed by digits and the end of the authority is a port
#: (``http://host:9000/path/a@b`` keeps its host), anything else after the ':' a password
_USER_PASSWORD = _Lazy(
    r"\b([A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#@'\"<>:]*:(?!\d*(?:[/?#\s'\"<>]|$))[^\s@'\"<>]*@"
)
#: the same for bucket schemes, port or not: a bucket name never holds ':'
_BUCKET_USER_PASSWORD = _Lazy(r"(?i)\b((?:s3|s3a|s3n|gs|gcs)://)[^\s/?#@'\"<>:]*:[^\s@'\"<>]*@")
#: ``scheme://USERINFO@`` (greedy: up to the last ``@`` of the authority)
_USERINFO = _Lazy(r"\b([A-Za-z][A-Za-z0-9+.\-]*)://([^\s/?#'\"<>]+)@")
_SECRET_QUERY = _Lazy(
    r"(?i)([?&;]("
    + "|".join(sorted((p for p in SECRET_QUERY_PARAMS), key=lambda p: (-len(p), p)))
    + r")=)[^&\s'\"#;<>]+"
)
#: ``AccountKey=...;`` of an Azure connection string, and its kin
_CONN_STRING_PART = _Lazy(
    r"(?i)\b(AccountKey|SharedAccessSignature|SharedAccessKey|Password|Pwd|ClientSecret)=[^;\s'\"<>]+"
)
#: ``NAME=value`` of a secret-ish variable in free text (an SDK echoing its environment)
_SECRET_ASSIGNMENT = _Lazy(
    r"\b([A-Za-z0-9_]*(?:SECRET|SECRET_KEY|SECRET_ACCESS_KEY|PASSWORD|PASSWD|TOKEN|SAS_TOKEN|"
    r"API_KEY|ACCOUNT_KEY|STORAGE_KEY|PRIVATE_KEY|CONNECTION_STRING))=(\"[^\"]*\"|'[^']*'|[^\s'\",;]+)",
    re.I,
)


def is_secret_name(name: object) -> bool:
    """Whether the variable (or key-file field) ``name`` holds a secret value."""
    if not isinstance(name, str) or not name:
        return False
    upper = name.upper()
    if upper in NOT_SECRET_VARIABLES:
        return False
    return upper in SECRET_VARIABLES or name in _SECRET_FIELDS or _SECRET_NAME.search(name) is not None


def mask_env_value(name: object, value: object) -> object:
    """``value`` as it may be shown: :data:`MASK` for a secret-ish ``name`` whatever the value's
    type (``None`` stays ``None``: nothing was given), the value itself otherwise."""
    if value is not None and is_secret_name(name):
        return MASK
    return value


def _split(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme, userinfo-or-'', rest-of-authority, query-or-'')`` of a ``scheme://`` URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme:
        return None
    end = len(rest)
    for ch in "/?#":
        at = rest.find(ch)
        if 0 <= at < end:
            end = at
    authority = rest[:end]
    userinfo, _, host = authority.rpartition("@")
    query = rest.partition("?")[2].partition("#")[0]
    return scheme.lower(), userinfo, host, query


def url_secret(url: object) -> str | None:
    """What secret material a URL holds, said without quoting it (``None``: none found):
    credentials in its user-info, or the query of a signed URL / SAS token."""
    if not isinstance(url, str):
        return None
    parts = _split(url)
    if parts is None:
        return None
    scheme, userinfo, host, query = parts
    # (second test) a ':' in the authority that starts no port (a bucket name never holds one)
    # with an '@' further on is user:password whose password went on past a '/' (AWS secret keys
    # hold '/')
    if userinfo and (scheme not in _CONTAINER_SCHEMES or ":" in userinfo or "@" in userinfo):
        return "credentials (user-info before '@')"
    port = host.rpartition(":")[2] if ":" in host else ""
    if ":" in host and "@" in url.partition("?")[0] and (scheme in _BUCKET_SCHEMES or not port.isdigit()):
        return "credentials (user:password@)"
    if query:
        keys = {p.partition("=")[0].strip().lower() for p in query.replace(";", "&").split("&")}
        signed = sorted(keys & (SECRET_QUERY_PARAMS | SIGNED_QUERY_PARAMS))
        if signed:
            return f"the query of a signed URL or SAS token ({', '.join(signed)})"
    return None


def redact_url(url: str) -> str:
    """``url`` with its user-info credentials and signed-query values replaced by ``***``."""
    return redact_text(url)


def _user_info(m: re.Match[str]) -> str:
    scheme, userinfo = m.group(1), m.group(2)
    if scheme.lower() in _CONTAINER_SCHEMES and ":" not in userinfo and "@" not in userinfo:
        return m.group(0)
    return f"{scheme}://{MASK}@"


def _assignment(m: re.Match[str]) -> str:
    value = m.group(2)
    quote = value[0] if value[:1] in ("'", '"') else ""  # token='***' stays as it is
    return f"{m.group(1)}={quote}{MASK}{quote}"


def secret_values(value: object) -> list[str]:
    """The strings to mask for a secret ``value`` of any type: a string, a number, bytes; of a
    mapping (a key document) the values of its secret-ish fields, of a list every element."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (bytes, bytearray)):
        return [bytes(value).decode("utf-8", "replace")]
    if isinstance(value, dict) or hasattr(value, "items"):
        out: list[str] = []
        for key, item in value.items():
            if is_secret_name(key):
                out.extend(secret_values(item))
            elif isinstance(item, (dict, list, tuple)):
                out.extend(secret_values_of_fields(item))
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [s for item in value for s in secret_values(item)]
    return [str(value)]  # int, float, bool, anything else: its text


def secret_values_of_fields(value: object) -> list[str]:
    """Inside a non-secret field of a key document: only the secret fields of nested mappings."""
    if isinstance(value, dict):
        return secret_values(value)
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in secret_values_of_fields(item)]
    return []


def _forms(value: str) -> set[str]:
    import base64
    import json
    from urllib.parse import quote

    forms = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
    if len(value) >= 8:
        forms.add(base64.b64encode(value.encode()).decode())
    if "\n" in value:
        forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)
    return {f for f in forms if f}


def redact_text(text: object, secrets: object = ()) -> str:
    """``text`` (made a string) with URL credentials, signed-query values, connection-string keys
    and ``SECRET_NAME=value`` assignments masked, and every value of ``secrets`` (anything
    :func:`secret_values` takes) masked whatever its type and length."""
    out = text if isinstance(text, str) else str(text)
    values = secret_values(secrets) if secrets not in ((), None) else []
    if values:
        for form in sorted({f for v in values for f in _forms(v)}, key=lambda p: (-len(p), p)):
            if len(form) >= 4:
                out = out.replace(form, MASK)
            elif form in out:
                out = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", MASK, out)
    if "://" in out:
        out = _BUCKET_USER_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", out)
        out = _USER_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", out)
        out = _USERINFO.sub(_user_info, out)
    if "=" in out:
        out = _SECRET_QUERY.sub(lambda m: m.group(1) + MASK, out)
        out = _CONN_STRING_PART.sub(lambda m: f"{m.group(1)}={MASK}", out)
        out = _SECRET_ASSIGNMENT.sub(_assignment, out)
    return out
