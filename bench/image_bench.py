"""The toolkit image's figures (issue 22): image size, cold ``stores --help`` in the image, and
the rendered init download and sidecar last flush inside the image vs the same command with the
venv's ``stores`` on this machine (medians, inside and outside interleaved), against moto's S3
server on 127.0.0.1.

    sudo .venv/bin/python bench/image_bench.py [--rounds 3] [--files 200]

Builds the image first when it is not up to date (scripts/build-image.sh); as root, like the
image tests.  Prints a table and writes .bench/image-bench.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent)]  # tests/support, and the repository

from support.image import BUILDAH, Pod, image_name, rendered_container, toolkit_image  # noqa: E402


def moto():
    from moto.server import ThreadedMotoServer
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=200, help="files per download and per last flush")
    parser.add_argument("--size", type=int, default=16384, help="bytes per file")
    args = parser.parse_args()

    import boto3
    from k8s import render_patch
    from k8s.plugins import download_data
    from support.k8s import RUN
    from stores.catalog import Catalog

    server, url = moto()
    s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")
    key = json.dumps({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                      "AWS_ENDPOINT_URL": url, "AWS_REGION": "us-east-1"}).encode()
    s3.create_bucket(Bucket="bench-data")
    rng = random.Random(1)
    for i in range(args.files):
        s3.put_object(Bucket="bench-data", Key=f"sets/train/f{i:04d}.bin", Body=rng.randbytes(args.size))
    results: dict[str, object] = {}
    work = Path(tempfile.mkdtemp(prefix="image-bench-"))
    gen = toolkit_image()
    image = next(gen)
    try:
        size = subprocess.run([*BUILDAH, "images", "--noheading", "--format", "{{.Size}}", image_name()],
                              capture_output=True, text=True, check=True).stdout.split("\n")[0]
        results["image"] = {"name": image.name, "size": size}

        def patch_for(bucket: str, downloads: tuple[str, ...] = ()) -> dict:
            s3.create_bucket(Bucket=bucket)
            catalog = Catalog.from_values({
                "artifactsStore": {"name": "artifacts", "kind": "s3", "schema": {"bucket": f"s3://{bucket}"},
                                   "secret": {"name": "artifacts-creds", "mountPath": "/plx-secrets/artifacts"}},
                "connections": [{"name": "data-s3", "kind": "s3", "schema": {"bucket": "s3://bench-data/sets"},
                                 "secret": {"name": "s3-creds", "items": [{"key": "key.json", "path": "key.json"}],
                                            "mountPath": "/plx-secrets/data-s3"}}]})
            return render_patch(catalog, None, RUN, plugins={"collectLogs": False, "sidecar": {"syncInterval": 1}},
                                extensions=[download_data(downloads)] if downloads else ()).to_dict()

        secrets = {"artifacts-creds": {"key.json": key}, "s3-creds": {"key.json": key}}
        n = 0

        def new_pod(patch: dict) -> Pod:
            nonlocal n
            n += 1
            root = work / f"pod{n}"
            root.mkdir()
            return Pod(patch, image, root, secrets)

        # cold `stores --help`: the image's CMD, as the rendered user, read-only root
        patch = patch_for("bench-help")
        sidecar = rendered_container(patch, "polyaxon-sidecar")
        help_container = {k: v for k, v in sidecar.items() if k not in ("command", "args")}
        pod = new_pod(patch)
        help_times, true_times = [], []
        for _ in range(max(args.rounds, 5)):
            t = time.perf_counter()
            assert pod.run(help_container).returncode == 0
            help_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            assert pod.run(help_container, ["/bin/true"]).returncode == 0
            true_times.append(time.perf_counter() - t)
        results["help"] = {"first_s": round(help_times[0], 3), "median_s": round(statistics.median(help_times), 3),
                           "sandbox_only_median_s": round(statistics.median(true_times), 3)}

        # the download init container: inside vs outside
        inside, outside = [], []
        for r in range(args.rounds):
            patch = patch_for(f"bench-dl-{r}", downloads=("data-s3:train",))
            init = rendered_container(patch, "polyaxon-init-artifacts-data-s3-")
            for where in ("inside", "outside"):
                pod = new_pod(patch)
                t = time.perf_counter()
                if where == "inside":
                    out = pod.run(init)
                else:
                    argv, env = pod.host_argv_env(init)
                    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
                took = time.perf_counter() - t
                assert out.returncode == 0, out.stderr
                got = list((pod.mount_dir(init, "/plx-context/artifacts") / "data-s3").rglob("*.bin"))
                assert len(got) == args.files, len(got)
                (inside if where == "inside" else outside).append(took)
        results["download"] = {"files": args.files, "bytes_each": args.size,
                               "inside_median_s": round(statistics.median(inside), 3),
                               "outside_median_s": round(statistics.median(outside), 3),
                               "inside_s": [round(x, 3) for x in inside], "outside_s": [round(x, 3) for x in outside]}

        # the sidecar's last flush: files written after its first pass, then SIGTERM at once
        inside, outside = [], []
        for r in range(args.rounds):
            for where in ("inside", "outside"):
                bucket = f"bench-sc-{r}-{where}"
                patch = patch_for(bucket)
                sidecar = rendered_container(patch, "polyaxon-sidecar")
                pod = new_pod(patch)
                run_dir = pod.mount_dir(sidecar, "/plx-context/artifacts") / RUN.uuid
                run_dir.mkdir(mode=0o777)
                (run_dir / "ready.txt").write_bytes(b"ready")
                if where == "inside":
                    proc = pod.popen(sidecar)
                else:
                    argv, env = pod.host_argv_env(sidecar)
                    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                deadline = time.monotonic() + 120
                while s3.list_objects_v2(Bucket=bucket, Prefix=f"{RUN.uuid}/ready.txt").get("KeyCount", 0) == 0:
                    assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1]
                    time.sleep(0.05)
                time.sleep(1.5)  # between two passes
                for i in range(args.files):
                    (run_dir / f"out-{i:04d}.bin").write_bytes(rng.randbytes(args.size))
                t = time.perf_counter()
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=600)
                took = time.perf_counter() - t
                assert proc.returncode == 0, err
                count = sum(1 for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=RUN.uuid)
                            for _ in page.get("Contents", []))
                assert count == args.files + 1, count
                (inside if where == "inside" else outside).append(took)
        results["sidecar_flush"] = {"files": args.files, "bytes_each": args.size,
                                    "inside_median_s": round(statistics.median(inside), 3),
                                    "outside_median_s": round(statistics.median(outside), 3),
                                    "inside_s": [round(x, 3) for x in inside], "outside_s": [round(x, 3) for x in outside]}
    finally:
        gen.close()
        server.stop()
        subprocess.run(["rm", "-rf", str(work)])

    print(json.dumps(results, indent=2))
    out = HERE.parent / ".bench" / "image-bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
