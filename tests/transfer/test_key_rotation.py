"""A key rotated in the middle of a sync: the sync completes, nothing restarts.

moto runs with authentication enforced (``s3_auth_server``).  The rotation is the one an
operator does: create a second access key, update the Secret (the kubelet writes the new key file
into a fresh folder and swaps the volume's ``..data`` symlink), delete the old key.  It happens
*between the signing and the sending* of one upload, the worst moment: that request (and any
other in flight) reaches the store signed with a key that no longer exists.  The handle re-reads
the key file on its next request; the engine sends a request refused for its credentials again
when the key file changed under it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from support.servers import admin_client, unique_bucket
from stores.handles import open_store
from stores.models import parse_connection
from stores.transfer import TransferOptions, sync

S3_ONLY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
FILES = 30
ROTATE_AT = 8  # the PutObject during which the key is rotated


def _kubelet_swap(mount: Path, name: str, text: str, generation: int) -> None:
    """A Secret volume's update: new files in a fresh folder, ``..data`` swapped atomically."""
    folder = mount / f"..2026_12_02_00_00_{generation:02d}.{generation}"
    folder.mkdir(parents=True)
    (folder / name).write_text(text)
    tmp = mount / "..data_tmp"
    tmp.symlink_to(folder.name)
    os.replace(tmp, mount / "..data")
    if not (mount / name).is_symlink():
        (mount / name).symlink_to(f"..data/{name}")


def test_key_rotated_mid_sync_completes(s3_auth_server, tmp_path: Path) -> None:
    server = s3_auth_server
    bucket = unique_bucket("rot")
    iam, s3 = admin_client(server, "iam"), admin_client(server, "s3")
    s3.create_bucket(Bucket=bucket)
    user = f"sync-{bucket}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=S3_ONLY)

    def key_doc(key: dict) -> str:
        return json.dumps({"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
                           "AWS_ENDPOINT_URL": server.url, "AWS_REGION": "us-east-1"})

    old = iam.create_access_key(UserName=user)["AccessKey"]
    mount = tmp_path / "secrets" / "plx-secrets" / "outputs"
    _kubelet_swap(mount, "key.json", key_doc(old), 1)
    conn = parse_connection({"name": "outputs", "kind": "s3", "schema": {"bucket": f"s3://{bucket}/run"},
                             "secret": {"name": "outputs-key", "mountPath": "/plx-secrets/outputs"}})
    store = open_store(conn, environ={}, secrets_root=str(tmp_path / "secrets"))

    local = tmp_path / "artifacts"
    for i in range(FILES):
        (local / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (local / f"d{i % 3}" / f"f{i:02d}.bin").write_bytes(os.urandom(1024 + i))

    puts: list[int] = []
    rotated: dict[str, str] = {}
    lock = threading.Lock()

    def rotate_in_flight(**_: object) -> None:
        # called after the request was signed, before it is sent
        with lock:
            puts.append(1)
            if len(puts) != ROTATE_AT:
                return
            new = iam.create_access_key(UserName=user)["AccessKey"]
            _kubelet_swap(mount, "key.json", key_doc(new), 2)
            iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
            rotated["new"] = new["AccessKeyId"]

    store.fs.session.register("before-send.s3.PutObject", rotate_in_flight)
    result = sync(str(local), store, options=TransferOptions(workers=4, retries=1))

    assert rotated, "the rotation never happened"
    assert len(result.transferred) == FILES and not getattr(result, "failed", None)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="run/")
    assert listed["KeyCount"] == FILES
    assert len(puts) > FILES, "no request was refused with the old key: the race was not exercised"
    assert store.fs.session._stores_credentials._frozen_credentials.access_key == rotated["new"]
    # the old key is gone for good: nothing signed with it works any more
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == [rotated["new"]]
