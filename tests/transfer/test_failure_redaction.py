"""``TransferError.failures`` hands out each failed file's exception; an SDK's message may quote
the signed URL it sent (an Azure SAS ``sig``), so what it hands out is redacted, like the
printed error, whatever the caller then logs."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from stores.errors import TransferError
from stores.handles import open_store
from stores.transfer import TransferOptions, upload
from stores.transfer.native import ENGINE_ENV
from support.servers import AZURITE_ACCOUNT, create_container, unique_bucket


@pytest.mark.parametrize("engine", ["native", "fsspec"])
def test_a_failed_upload_with_a_sas_token_never_shows_the_signature(tmp_path, azurite_server, engine, monkeypatch):
    if engine == "fsspec":
        monkeypatch.setenv(ENGINE_ENV, "fsspec")
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    container = unique_bucket("sasfail")
    create_container(azurite_server, container)
    conn = azurite_server.extra["connection_string"]
    key = dict(p.split("=", 1) for p in conn.split(";") if p)["AccountKey"]
    # read and list, no write: every upload is refused by the service
    sas = generate_container_sas(AZURITE_ACCOUNT, container, account_key=key,
                                 permission=ContainerSasPermissions(read=True, list=True),
                                 expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    sig = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_CONNECTION_STRING", "AZURE_ACCOUNT_KEY")}
    env.update({"AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT, "AZURE_STORAGE_SAS_TOKEN": sas,
                "AZURE_BLOB_ENDPOINT": azurite_server.url})
    store = open_store(f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/runs", environ=env)
    src = tmp_path / "src"
    src.mkdir()
    for name in ("a.txt", "b.txt"):
        (src / name).write_text(name)
    with pytest.raises(TransferError) as info:
        upload(src, store, options=TransferOptions(retries=0), progress=False)
    err = info.value
    assert sorted(err.failures) == ["a.txt", "b.txt"], err
    for exc in err.failures.values():
        assert sig not in str(exc) and sig not in repr(exc) and sig not in str(exc.args)
        assert isinstance(exc, PermissionError) or "403" in str(exc) or "uthoriz" in str(exc), repr(exc)
    assert sig not in str(err)


SIGNED = "https://acct.blob.core.windows.net/c/k?sv=2022-11-02&sp=rw&sig=SECRETSIGNATUREVALUE1234"


class _OwnText(Exception):
    def __str__(self) -> str:
        return f"custom text for {SIGNED}"


@pytest.mark.parametrize("exc", [
    ValueError(f"PUT {SIGNED} failed"),
    PermissionError(13, f"denied {SIGNED}", SIGNED),
    _OwnText(),
])
def test_a_failure_whose_text_quotes_a_signed_url_is_handed_out_redacted(exc):
    """Where an SDK does quote the URL (none of the servers above does, so the guard is tested
    on the exception itself): same type where a copy can be redacted, else a StoresError
    naming the type; never the signature."""
    from stores.errors import StoresError
    from stores.redact import redact_text
    from stores.transfer.engine import _redacted

    out = _redacted(exc, redact_text)
    assert "SECRETSIGNATUREVALUE1234" not in str(out) + repr(out)
    assert type(out) is type(exc) or (isinstance(out, StoresError) and type(exc).__name__ in str(out))
    assert _redacted(ValueError("plain"), redact_text).args == ("plain",)
