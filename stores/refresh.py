"""Credentials that refresh while a handle lives (tier 2: botocore / google-auth load on use).

Two things expire or change under a long-running handle (a sidecar's ``--watch`` sync, a
download of many gigabytes):

- **a mounted key file**: Kubernetes updates a Secret volume by writing the new files into a
  fresh timestamped folder and swapping the ``..data`` symlink, so the path the handle read
  stays the same while what it resolves to changes.  :class:`KeyFileWatch` notices that (the
  resolved path, its inode, size and mtime), one ``stat`` per check;
- **temporary credentials**: web-identity sessions from STS (and the projected token they are
  exchanged for) expire; they are fetched again before they lapse.

S3: the handle's aiobotocore session gets one refreshable credential object
(:func:`s3_session`), consulted by the signer before every request: a key file is re-read when
its watch says it changed; a web-identity session is renewed by botocore's own
``AssumeRoleWithWebIdentity`` fetcher 15 minutes before it expires (10 minutes: mandatory),
reading the token file afresh each time.  GCS: :class:`ReloadingGoogleCredentials` reloads a
service-account key file when it changed, before the next token refresh.  Azure: workload
identity's ``WorkloadIdentityCredential`` reads the federated token file at each exchange.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from typing import Any, Callable, Mapping

__all__ = ["KeyFileWatch", "s3_session", "ReloadingGoogleCredentials", "key_file_of"]

#: what a key file "never" expires as (botocore wants an expiry for refreshable credentials)
_FAR = _dt.timedelta(days=3650)


def key_file_of(sources: Mapping[str, str], setting: str) -> str | None:
    """The key file a setting was read from (``Credentials.sources``), or ``None``."""
    where = sources.get(setting) or ""
    return where[len("key file "):] if where.startswith("key file ") else None


class KeyFileWatch:
    """Whether a mounted file changed since it was last read: the resolved path (the ``..data``
    symlink swap of a Secret or projected volume), its inode, size and mtime."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.seen = self.signature()

    def signature(self) -> tuple[Any, ...] | None:
        try:
            real = os.path.realpath(self.path)
            st = os.stat(real)
        except OSError:
            return None  # mid-swap or gone: keep what we have until it is back
        return real, st.st_ino, st.st_size, st.st_mtime_ns

    def changed(self) -> bool:
        now = self.signature()
        return now is not None and now != self.seen

    def mark(self) -> None:
        """The file was read as it is now."""
        with self._lock:
            now = self.signature()
            if now is not None:
                self.seen = now


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def _key_file_credentials(path: str, kind: str, initial: Mapping[str, Any]) -> Any:
    """Refreshable S3 credentials that re-read ``path`` whenever its watch says it changed."""
    from aiobotocore.credentials import AioRefreshableCredentials

    from .credentials import _read_key_file

    watch = KeyFileWatch(path)

    def load() -> dict[str, Any]:
        found = _read_key_file(path, kind)
        watch.mark()
        return {"access_key": found.get("access_key"), "secret_key": found.get("secret_key"),
                "token": found.get("token"), "expiry_time": (_now() + _FAR).isoformat()}

    class KeyFileCredentials(AioRefreshableCredentials):  # type: ignore[misc]  # aiobotocore ships no types: its base is Any
        def refresh_needed(self, refresh_in: Any = None) -> bool:
            return watch.changed()

    creds = KeyFileCredentials(
        access_key=initial.get("access_key"), secret_key=initial.get("secret_key"), token=initial.get("token"),
        expiry_time=_now() + _FAR, refresh_using=load, method="stores-key-file",
    )
    creds.watch = watch
    return creds


def _web_identity_credentials(session: Any, role_arn: str, token_file: str, sts_endpoint: str | None,
                              region: str | None, session_name: str, client_kwargs: Mapping[str, Any]) -> Any:
    """botocore's AssumeRoleWithWebIdentity chain (aiobotocore's classes): deferred, refreshed
    before expiry, the token file read at each exchange."""
    from aiobotocore.credentials import AioAssumeRoleWithWebIdentityCredentialFetcher, AioDeferredRefreshableCredentials
    from botocore.utils import FileWebIdentityTokenLoader

    def client_creator(service: str, **kw: Any) -> Any:
        extra = dict(client_kwargs)
        if sts_endpoint:
            extra["endpoint_url"] = sts_endpoint
        extra.setdefault("region_name", region or "us-east-1")
        return session.create_client(service, **{**extra, **kw})

    fetcher = AioAssumeRoleWithWebIdentityCredentialFetcher(
        client_creator=client_creator,
        web_identity_token_loader=FileWebIdentityTokenLoader(token_file),
        role_arn=role_arn,
        extra_args={"RoleSessionName": session_name},
    )
    creds = AioDeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials,
                                              method="assume-role-with-web-identity")
    creds.watch = KeyFileWatch(token_file)
    return creds


class _Provider:
    METHOD = "stores"
    CANONICAL_NAME = "stores"

    def __init__(self, creds: Any) -> None:
        self.creds = creds

    async def load(self) -> Any:
        return self.creds


def s3_session(creds: Any, client_kwargs: Mapping[str, Any] | None = None) -> Any:
    """An aiobotocore session whose only credential provider is refreshable, or ``None`` when
    static keys (or the SDK's default chain) will do: a workload identity (role ARN + token
    file: ``AssumeRoleWithWebIdentity``) or keys read from a mounted key file."""
    role_arn = creds.get("role_arn")
    token_file = creds.get("web_identity_token_file")
    key_file = key_file_of(creds.sources, "access_key")
    identity = creds.get("workload_identity") is not None
    if not ((role_arn and token_file and (identity or not creds.get("access_key"))) or key_file):
        return None
    from aiobotocore.credentials import AioCredentialResolver
    from aiobotocore.session import AioSession

    session = AioSession()
    if role_arn and token_file and (identity or not creds.get("access_key")):
        name = f"stores-{creds.get('workload_identity') or 'session'}"[:64]
        refreshable = _web_identity_credentials(
            session, role_arn, token_file, creds.get("sts_endpoint_url") or creds.get("endpoint_url"),
            creds.get("region"), name, client_kwargs or {})
    else:
        refreshable = _key_file_credentials(key_file, creds.kind, creds.settings)  # type: ignore[arg-type]
    session.register_component("credential_provider", AioCredentialResolver([_Provider(refreshable)]))
    session._stores_credentials = refreshable  # what the transfer engine watches
    return session


def _google_scopes() -> list[str]:
    return ["https://www.googleapis.com/auth/devstorage.full_control"]


def google_credentials(doc: Mapping[str, Any]) -> Any:
    """google-auth credentials of a key file's document, by its ``type``: a service-account key,
    an external-account config (workload identity federation: a file- or URL-sourced token, or
    AWS), an authorized user."""
    kind = doc.get("type")
    scopes = _google_scopes()
    if kind == "service_account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(dict(doc), scopes=scopes)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
    if kind == "external_account":
        source = doc.get("credential_source") or {}
        if source.get("environment_id", "").startswith("aws"):
            from google.auth import aws

            return aws.Credentials.from_info(dict(doc), scopes=scopes)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
        from google.auth import identity_pool

        return identity_pool.Credentials.from_info(dict(doc), scopes=scopes)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
    if kind == "authorized_user":
        from google.oauth2 import credentials

        return credentials.Credentials.from_authorized_user_info(dict(doc), scopes=scopes)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
    import google.auth

    made, _ = google.auth.load_credentials_from_dict(dict(doc), scopes=scopes)  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
    return made


def ReloadingGoogleCredentials(path: str, info: Mapping[str, Any], load: Callable[[], Mapping[str, Any]]) -> Any:  # noqa: N802
    """google-auth credentials built from a key file ``info`` (a service-account key or an
    external-account / workload-identity-federation config) that reload the file when it
    changed, before their next token refresh."""
    import google.auth
    import google.auth.credentials

    def build(doc: Mapping[str, Any]) -> Any:
        return google_credentials(doc)

    class Reloading(google.auth.credentials.Credentials):
        def __init__(self) -> None:
            super().__init__()  # type: ignore[no-untyped-call]  # google-auth leaves it unannotated
            self.watch = KeyFileWatch(path)
            self.inner = build(info)

        @property
        def valid(self) -> bool:
            return self.inner.valid and not self.watch.changed()

        @property
        def expired(self) -> bool:
            expired: bool = self.inner.expired
            return expired

        def refresh(self, request: Any) -> None:
            if self.watch.changed():
                self.inner = build(load())
                self.watch.mark()
            self.inner.refresh(request)
            self.token, self.expiry = self.inner.token, self.inner.expiry

        def apply(self, headers: Any, token: Any = None) -> None:
            self.inner.apply(headers, token=token)

        def before_request(self, request: Any, method: Any, url: Any, headers: Any) -> None:
            if not self.valid:
                self.refresh(request)
            self.inner.apply(headers)

    return Reloading()
