"""Transfers against moto's S3 server, timed inside one process (a script, not a test).

    .venv/bin/python bench/transfer_bench.py TOOL SRC s3://BUCKET/PREFIX [THREADS]

The S3 server and credentials come from the environment (``AWS_ENDPOINT_URL``,
``AWS_ACCESS_KEY_ID``, ...; ``run_all.py`` starts ``moto_server`` and sets them).  TOOL is

- ``ours``: ``stores.transfer.upload(SRC, open_store(URL))`` (8 workers, verify on)
- ``ours-sync``: ``stores.transfer.sync(SRC, open_store(URL))``
- ``s3fs``: ``s3fs.S3FileSystem().put(SRC, URL, recursive=True)``
- ``ceiling``: every file of SRC as one ``put_object`` of a raw boto3 client from THREADS threads
  (default 32): what the server takes, with no listing, checking or streaming on the client

Imports are done before the clock starts; prints ``{"tool", "seconds", "files", "bytes"}``.
``run_all.py`` runs it as a subprocess and also reads the process's peak memory.
"""

from __future__ import annotations

import json
import os
import sys
import time


def local_files(src: str) -> list[tuple[str, str]]:
    """(path, key relative to SRC) for SRC (a file: its basename) or every file under it."""
    if os.path.isfile(src):
        return [(src, os.path.basename(src))]
    out = []
    for dirpath, _, names in os.walk(src):
        for name in names:
            path = os.path.join(dirpath, name)
            out.append((path, os.path.relpath(path, src).replace(os.sep, "/")))
    return sorted(out)


def main() -> None:
    tool, src, url = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    files = local_files(src)
    total = sum(os.path.getsize(p) for p, _ in files)
    bucket, _, prefix = url.partition("://")[2].partition("/")
    if tool in ("ours", "ours-sync"):
        from stores.handles import open_store
        from stores.transfer import sync, upload

        fn = upload if tool == "ours" else sync
        t0 = time.perf_counter()
        fn(src, open_store(url), progress=False)
    elif tool == "s3fs":
        import s3fs

        t0 = time.perf_counter()
        fs = s3fs.S3FileSystem(endpoint_url=os.environ["AWS_ENDPOINT_URL"])
        fs.put(src, f"{bucket}/{prefix}", recursive=True)
    elif tool == "ceiling":
        from concurrent.futures import ThreadPoolExecutor

        import boto3
        from botocore.config import Config

        t0 = time.perf_counter()
        client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                              config=Config(max_pool_connections=threads))

        def put(item: tuple[str, str]) -> None:
            path, key = item
            with open(path, "rb") as fh:
                client.put_object(Bucket=bucket, Key=f"{prefix.rstrip('/')}/{key}", Body=fh.read())

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(put, files))
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    seconds = time.perf_counter() - t0
    print(json.dumps({"tool": tool, "seconds": seconds, "files": len(files), "bytes": total}))


if __name__ == "__main__":
    main()
