"""Hostile paths and the path policy (issue 8, item 5), table-driven, through the Python API and
the CLI:

- mountPaths: relative, with ``..``, the root, on or over the run context ``/plx-context``;
- hostPaths: ``/``, ``/proc``, ``/sys``, ``/etc`` (and anything under or above them), the docker
  socket unless the docker plugin asks for it;
- subPaths and secret item paths that climb out;
- store keys that try to leave their root in ls / cp / sync (``..``, absolute keys) and, in a
  local store, symlinks that lead out of it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s import render_patch
from stores.catalog import Catalog
from stores.cli import main
from stores.errors import RenderError, StoresError, ValuesError
from stores.models import parse_connection
from stores.contract.runinfo import RunInfo

# a namespace: Mountpoint for S3's static PersistentVolume names its claim's (a CSI mount)
RUN = RunInfo(uuid="0f1e2d3c4b5a69788796a5b4c3d2e1f0", owner="acme", project="vision", namespace="ml")

# ---- the places a mountPath can be written -----------------------------------------------------------------


def _host_path_conn(mount: str, host: str = "/mnt/data") -> dict[str, Any]:
    return {"connections": [{"name": "data", "kind": "host_path", "schema": {"hostPath": host, "mountPath": mount}}]}


def _claim_conn(mount: str) -> dict[str, Any]:
    return {"connections": [{"name": "data", "kind": "volume_claim", "schema": {"volumeClaim": "pvc", "mountPath": mount}}]}


def _secret_mount(mount: str) -> dict[str, Any]:
    return {"connections": [{"name": "data", "kind": "s3", "schema": {"bucket": "s3://bucket"},
                             "secret": {"name": "creds", "mountPath": mount}}]}


def _config_mount(mount: str) -> dict[str, Any]:
    return {"connections": [{"name": "data", "kind": "gcs", "schema": {"bucket": "gs://bucket"},
                             "configMap": {"name": "settings", "mountPath": mount}}]}


def _csi(kind: str, bucket: str, **extra: Any):  # a bucket mounted through its CSI driver
    def doc(mount: str) -> dict[str, Any]:
        return {"connections": [{"name": "data", "kind": kind, "schema": {"bucket": bucket},
                                 "mount": {"mountPath": mount, **extra}}]}

    return doc


def _legacy(mount: str) -> dict[str, Any]:
    return {"persistence": {"data": {"data": {"hostPath": "/mnt/data", "mountPath": mount}}}}


MOUNT_PLACES = {"host_path": _host_path_conn, "claim": _claim_conn, "secret": _secret_mount,
                "configMap": _config_mount, "legacy": _legacy,
                "csi_s3": _csi("s3", "s3://bucket/team", readOnly=True),
                "csi_gcs": _csi("gcs", "gs://bucket/team"),
                "csi_wasb": _csi("wasb", "wasbs://cont1@acct1.blob.core.windows.net/team", secretName="azure-secret")}

#: mountPath -> where it is refused: "values" (a ValuesError naming the path) or "render"
#: (a RenderError: the context path is a rule of the pod, not of one connection)
HOSTILE_MOUNTS = {
    "relative": "values",
    "relative/deeper": "values",
    "./here": "values",
    "": "values",
    "/": "values",
    "//": "values",
    "/.": "values",
    "/..": "values",
    "/a/../b": "values",
    "/data/..": "values",
    "/a/b/../../..": "values",
    "/plx-context": "values",
    "/plx-context/": "values",
    "//plx-context": "values",
    "/plx-context/.": "values",
    "/./plx-context": "values",
}


def _refusal(doc: dict[str, Any]) -> str | None:
    """Where ``doc`` is refused ("values" / "render"), or None when it renders."""
    try:
        catalog = Catalog.from_values(doc)
    except ValuesError as exc:
        assert all(p.path for p in exc.problems), exc  # each problem names where
        return "values"
    try:
        render_patch(catalog, None, RUN).to_dict()
    except RenderError:
        return "render"
    return None


@pytest.mark.parametrize("place", sorted(MOUNT_PLACES))
@pytest.mark.parametrize("mount, where", sorted(HOSTILE_MOUNTS.items()))
def test_hostile_mount_paths_are_refused(place: str, mount: str, where: str) -> None:
    assert _refusal(MOUNT_PLACES[place](mount)) == where


@pytest.mark.parametrize("place", sorted(MOUNT_PLACES))
@pytest.mark.parametrize("mount", ["/data", "/data/x/", "/plx-contextual", "/plx-context-2", "/données/日本", "/a b"])
def test_ordinary_mount_paths_render(place: str, mount: str) -> None:
    """The other side of the table: near misses of the rules are fine."""
    assert _refusal(MOUNT_PLACES[place](mount)) is None


def test_a_mount_inside_the_context_is_allowed_by_design() -> None:
    # the context rule is "on it or over it" (k8s.checks.check_context_path); nested mounts are
    # how the plugins work
    assert _refusal(_host_path_conn("/plx-context/datasets")) is None


def test_a_mount_over_the_context_is_refused_even_with_the_context_plugins_on() -> None:
    doc = {"artifactsStore": {"name": "art", "kind": "host_path",
                              "schema": {"hostPath": "/mnt/art", "mountPath": "/plx-context"}}}
    with pytest.raises(ValuesError, match=r"artifactsStore\.schema\.mountPath: .*reserved for the run context"):
        Catalog.from_values(doc)
    # a catalog built in Python, past the loader: the renderer refuses it as the reserved path
    # or as a clash with the context volume the plugins add
    catalog = Catalog(artifacts_store=parse_connection(doc["artifactsStore"]))
    with pytest.raises(RenderError, match="/plx-context"):
        render_patch(catalog, None, RUN, plugins={"collectArtifacts": True, "collectLogs": True})


#: bucket prefixes and extra options a CSI driver's mount options cannot carry
HOSTILE_CSI = [
    pytest.param(_csi("s3", "s3://bucket/a b")("/data"), id="s3-prefix-space"),
    pytest.param(_csi("s3", "s3://bucket/a\tb")("/data"), id="s3-prefix-tab"),
    pytest.param(_csi("gcs", "gs://bucket/a,only-dir=/")("/data"), id="gcs-prefix-comma"),
    pytest.param(_csi("wasb", "wasbs://cont1@acct1.blob.core.windows.net/a b", secretName="s")("/data"), id="wasb-prefix-space"),
    pytest.param(_csi("gcs", "gs://bucket", mountOptions=["implicit-dirs,only-dir=../x"])("/data"), id="gcs-option-comma"),
    pytest.param(_csi("s3", "s3://bucket", mountOptions=["allow-other\nallow-delete"])("/data"), id="s3-option-newline"),
    pytest.param(_csi("s3", "s3://bucket", mountOptions=["--prefix ../"])("/data"), id="s3-option-prefix"),
    pytest.param(_csi("wasb", "wasbs://cont1@acct1.blob.core.windows.net/", secretName="s",
                      mountOptions=["--subdirectory=../.."])("/data"), id="wasb-option-subdirectory"),
    pytest.param(_csi("s3", "s3://bucket/../other")("/data"), id="s3-prefix-dotdot"),
]


@pytest.mark.parametrize("doc", HOSTILE_CSI)
def test_hostile_csi_prefixes_and_options_are_refused(doc: dict[str, Any]) -> None:
    assert _refusal(doc) == "values"


# ---- host paths -----------------------------------------------------------------------------------------------

#: hostPath -> where it is refused
HOSTILE_HOST_PATHS = {
    "/": "values", "//": "values", "/.": "values",
    "/proc": "values", "/proc/": "values", "/proc/1/root": "values", "//proc": "values", "/proc/./self": "values",
    "/sys": "values", "/sys/fs/cgroup": "values", "/sys/kernel/": "values",
    "/etc": "values", "/etc/kubernetes/pki": "values", "/etc/.": "values", "///etc//shadow": "values",
    "/var/run/docker.sock": "values", "/run/docker.sock": "values", "/var/run/docker.sock/": "values",
    "/var/run": "values", "/run": "values", "/var": "values",
    "proc": "values", "": "values", "../etc": "values", "/data/../etc": "values", "/a/../../etc": "values",
    "/mnt/x\x00": "values",
}


@pytest.mark.parametrize("host, where", sorted(HOSTILE_HOST_PATHS.items()))
@pytest.mark.parametrize("spelling", ["current", "legacy"])
def test_hostile_host_paths_are_refused(host: str, where: str, spelling: str) -> None:
    doc = (_host_path_conn("/data", host) if spelling == "current"
           else {"persistence": {"data": {"data": {"hostPath": host, "mountPath": "/data"}}}})
    assert _refusal(doc) == where


@pytest.mark.parametrize("host", ["/mnt/data", "/procfs", "/etcetera", "/var/lib/data", "/run2", "/sysroot",
                                  "/var/run/docker.sock.d", "/home/etc", "/data/proc"])
def test_host_paths_near_the_deny_list_render(host: str) -> None:
    assert _refusal(_host_path_conn("/data", host)) is None


def _with_artifacts(doc: dict[str, Any]) -> dict[str, Any]:
    # the seed's default plugins collect artifacts: they need a store for them
    return {**doc, "artifactsStore": {"name": "art", "kind": "volume_claim",
                                      "schema": {"volumeClaim": "art-pvc", "mountPath": "/art"}}}


def test_docker_socket_only_when_allowed() -> None:
    doc = _with_artifacts(_host_path_conn("/host/docker.sock", "/var/run/docker.sock"))
    # the docker plugin is a render option: a store on the socket is refused when loading, with
    # or without it, unless the values are loaded with the socket allowed
    with pytest.raises(ValuesError, match="hostPath '/var/run/docker.sock' is not allowed"):
        Catalog.from_values(doc)
    sock = Catalog.from_values(doc, allow_host_paths=["/var/run/docker.sock"])
    render_patch(sock, None, RUN).to_dict()
    render_patch(sock, None, RUN, plugins={"docker": True}).to_dict()
    # the plugin lets exactly its socket through: its own volume
    plain = Catalog.from_values(_with_artifacts(_host_path_conn("/data")))
    volumes = render_patch(plain, None, RUN, plugins={"docker": True}).to_dict()["spec"]["volumes"]
    assert {"path": "/var/run/docker.sock", "type": "Socket"} in [v.get("hostPath") for v in volumes]
    # ...and nothing near it, neither the plugin nor the allowance
    for other in ("/run/docker.sock", "/var/run", "/var"):
        near = _with_artifacts(_host_path_conn("/data", other))
        with pytest.raises(ValuesError, match="not allowed"):
            Catalog.from_values(near, allow_host_paths=["/var/run/docker.sock"])
        built = Catalog(connections=(parse_connection(near["connections"][0]),),
                        artifacts_store=parse_connection(near["artifactsStore"]))
        with pytest.raises(RenderError, match="not allowed"):
            render_patch(built, None, RUN, plugins={"docker": True})


def test_allowing_a_path_allows_exactly_that_path() -> None:
    doc = _host_path_conn("/data", "/etc/ssl/certs")
    etc = Catalog.from_values(doc, allow_host_paths=["/etc/ssl/certs"])
    render_patch(etc, None, RUN).to_dict()
    built = Catalog(connections=(parse_connection(doc["connections"][0]),))
    render_patch(built, None, RUN, allow_host_paths=["/etc/ssl/certs"]).to_dict()
    for near in (["/etc/ssl"], ["/etc"], ["/etc/ssl/certs/x"]):
        with pytest.raises(ValuesError):
            Catalog.from_values(doc, allow_host_paths=near)
        with pytest.raises(RenderError):
            render_patch(built, None, RUN, allow_host_paths=near)


# ---- paths inside volumes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("sub", ["..", "../x", "a/../..", "a/../../b", "/abs", "/", "a\x00b"])
def test_sub_paths_and_item_paths_that_climb_out(sub: str) -> None:
    claim = {"connections": [{"name": "data", "kind": "volume_claim",
                              "schema": {"volumeClaim": "pvc", "mountPath": "/data", "subPath": sub}}]}
    item = {"connections": [{"name": "data", "kind": "s3", "schema": {"bucket": "s3://bucket"},
                             "secret": {"name": "creds", "mountPath": "/creds", "items": [{"key": "k", "path": sub}]}}]}
    assert _refusal(claim) == "values"
    assert _refusal(item) == "values"


@pytest.mark.parametrize("key", ["..", ".", "../x"])
def test_secret_keys_that_are_paths(key: str) -> None:
    # a bare item is mounted under its own name: '..' as a key would climb out
    doc = {"connections": [{"name": "data", "kind": "s3", "schema": {"bucket": "s3://bucket"},
                            "secret": {"name": "creds", "mountPath": "/creds", "items": [key]}}]}
    assert _refusal(doc) == "values"


# ---- the CLI says the same ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [
    pytest.param(_host_path_conn("/data", "/proc"), id="host-proc"),
    pytest.param(_host_path_conn("/data", "/var/run/docker.sock"), id="host-docker-socket"),
    pytest.param(_host_path_conn("/plx-context"), id="mount-context"),
    pytest.param(_host_path_conn("../up"), id="mount-relative"),
    pytest.param(_host_path_conn("/"), id="mount-root"),
    pytest.param(_claim_conn("/a/../b"), id="mount-dotdot"),
])
def test_cli_refuses_the_same(tmp_path: Path, capsys: Any, doc: dict[str, Any]) -> None:
    # `stores validate` is the gate for `stores render`: both refuse, with file:line
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(doc))
    validate = main(["validate", str(values)])
    validate_err = capsys.readouterr().err
    render = main(["render", str(values)])
    render_err = capsys.readouterr().err
    assert render == 1 and "Traceback" not in render_err
    assert validate == 1 and re.match(rf"{re.escape(str(values))}:\d+: connections\[0\]\.schema\.", validate_err)
    assert validate_err.splitlines()[0] in render_err


def test_cli_allow_host_path_flag(tmp_path: Path, capsys: Any) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(_host_path_conn("/data", "/etc/ssl/certs")))
    assert main(["render", str(values)]) == 1
    assert main(["render", str(values), "--allow-host-path", "/etc/ssl/certs", "--validate", "1.30"]) == 0
    assert main(["render", str(values), "--allow-host-path", "/etc"]) == 1
    assert main(["validate", str(values)]) == 1
    assert main(["validate", str(values), "--allow-host-path", "/etc/ssl/certs"]) == 0
    capsys.readouterr()


# ---- store keys that try to leave their root ------------------------------------------------------------------------

ESCAPING_KEYS = ["..", "../", "../x", "a/../..", "a/../../x", "/etc/passwd", "/", "x/\x00y", "./../x"]


@pytest.fixture
def local(tmp_path: Path) -> dict[str, Any]:
    from stores.handles import local_store

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside the store")
    root = tmp_path / "store"
    (root / "in").mkdir(parents=True)
    (root / "in" / "a.txt").write_text("inside")
    (root / "link-out").symlink_to(outside)
    (root / "file-out").symlink_to(outside / "secret.txt")
    (root / "link-in").symlink_to(root / "in")  # a symlink that stays inside is fine
    return {"handle": local_store(root), "root": root, "outside": outside, "tmp": tmp_path}


@pytest.mark.parametrize("key", ESCAPING_KEYS + ["link-out", "link-out/secret.txt", "file-out", "link-out/new.txt"])
def test_handle_operations_refuse_escaping_keys(local: dict[str, Any], key: str) -> None:
    h = local["handle"]
    ops = {
        "path": lambda: h.path(key), "read": lambda: h.read_bytes(key), "write": lambda: h.write_bytes(key, b"x"),
        "exists": lambda: h.exists(key), "ls": lambda: h.ls(key), "find": lambda: h.find(key),
        "rm": lambda: h.rm(key), "child": lambda: h.child(key), "open": lambda: h.open(key, "wb"),
    }
    for name, op in ops.items():
        with pytest.raises(StoresError):
            op()
            pytest.fail(f"{name}({key!r}) did not refuse")
    assert sorted(p.name for p in local["outside"].iterdir()) == ["secret.txt"]
    assert (local["outside"] / "secret.txt").read_text() == "outside the store"


def test_symlinks_that_stay_inside_work(local: dict[str, Any]) -> None:
    h = local["handle"]
    assert h.read_bytes("link-in/a.txt") == b"inside"
    h.write_bytes("link-in/b.txt", b"b")
    assert (local["root"] / "in" / "b.txt").read_bytes() == b"b"


@pytest.mark.parametrize("key", ESCAPING_KEYS)
def test_transfers_refuse_escaping_keys(local: dict[str, Any], key: str) -> None:
    from stores.transfer import copy, download, sync, upload

    h, tmp = local["handle"], local["tmp"]
    (tmp / "src").mkdir(exist_ok=True)
    (tmp / "src" / "f.txt").write_text("f")
    for op in (lambda: upload(tmp / "src", h, key, progress=False),
               lambda: download(h, key, tmp / "dl", progress=False),
               lambda: sync(tmp / "src", h, dst_key=key, progress=False),
               lambda: sync(h, tmp / "dl", src_key=key, progress=False),
               lambda: copy(h, h, src_key="in", dst_key=key, progress=False)):
        with pytest.raises(StoresError):
            op()
    assert sorted(p.name for p in local["outside"].iterdir()) == ["secret.txt"]
    assert not (tmp / "f.txt").exists() and not (tmp / "etc").exists()


def test_a_sync_through_a_symlinked_file_fails_that_file_only(local: dict[str, Any]) -> None:
    """A source tree holding a symlink out of the store: that file is refused (loudly), the rest
    is synced; a destination folder that is a symlink out is never written through."""
    from stores.errors import TransferError
    from stores.transfer import sync

    dest = local["tmp"] / "dest"
    with pytest.raises(TransferError) as info:
        sync(local["handle"], dest, progress=False)
    # one policy for files and folders alike (issue 13): the folder link out fails too, loudly
    assert sorted(info.value.failures) == ["file-out", "link-out"]  # type: ignore[attr-defined]
    assert (dest / "in" / "a.txt").read_text() == "inside"
    assert not (dest / "file-out").exists()
    # writing into the store where a folder is a symlink out
    src = local["tmp"] / "up"
    (src / "link-out").mkdir(parents=True)
    (src / "link-out" / "planted.txt").write_text("planted")
    with pytest.raises(TransferError, match="leads out of the store"):
        sync(src, local["handle"], progress=False)
    assert sorted(p.name for p in local["outside"].iterdir()) == ["secret.txt"]


def test_bucket_urls_cannot_climb_out_of_their_prefix() -> None:
    from stores.handles import open_store

    env = {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}
    for url in ("s3://bucket/../other", "s3://bucket/a/../../b", "s3://bucket/./x", "gs://bucket/..",
                "wasbs://c@acct.blob.core.windows.net/../x"):
        with pytest.raises(StoresError):
            open_store(url, environ=env)
    handle = open_store("s3://bucket/prefix", environ=env)
    for key in ESCAPING_KEYS:
        with pytest.raises(StoresError):
            handle.path(key)
    assert handle.path("a/b") == "bucket/prefix/a/b"


@pytest.mark.parametrize("spec", ["data:../x", "data:../../etc", "data:/etc/passwd", "data:a/../../x", "data:link-out",
                                  "data:link-out/secret.txt"])
def test_cli_store_specs_that_escape(local: dict[str, Any], spec: str, capsys: Any) -> None:
    values = local["tmp"] / "values.yaml"
    values.write_text(yaml.safe_dump(_host_path_conn(str(local["root"]))))
    dest = local["tmp"] / "cli-dest"
    (local["tmp"] / "one.txt").write_text("1")
    for argv in (["ls", "--values", str(values), spec],
                 ["ls", "-r", "--values", str(values), spec],
                 ["cp", "-q", "--values", str(values), spec, str(dest)],
                 ["cp", "-q", "--values", str(values), str(local["tmp"] / "one.txt"), spec],
                 ["sync", "-q", "--values", str(values), str(local["tmp"] / "one.txt"), spec],
                 ["sync", "-q", "--values", str(values), spec, str(dest)]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 1, (argv, err)
        assert err.startswith("error: ") and "internal error" not in err, err
    assert sorted(p.name for p in local["outside"].iterdir()) == ["secret.txt"]
    assert not dest.exists() or not any(dest.rglob("secret.txt"))
