"""One test (or more) per check run before output: each must raise RenderError naming what
clashes, and must let the legitimate neighbour through."""

from __future__ import annotations

import pytest
from kubernetes.client import V1EmptyDirVolumeSource, V1HostPathVolumeSource, V1Volume, V1VolumeMount

from k8s import apply_patch, render_patch
from k8s.checks import CONTEXT_VOLUME
from support.k8s import RUN, assert_patch_valid, assert_valid, catalog_of, python_catalog
from stores.catalog import Catalog
from stores.errors import RenderError, ValuesError


def host(name, host_path, mount_path, **extra):
    return {"name": name, "kind": "host_path", "schema": {"hostPath": host_path, "mountPath": mount_path}, **extra}


def bucket(name, kind="s3", **extra):
    url = {"s3": f"s3://{name}-bkt", "gcs": f"gs://{name}-bkt"}[kind]
    return {"name": name, "kind": kind, "schema": {"bucket": url}, **extra}


JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "j"},
    "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
}


def _job_with(container_extra=None, spec_extra=None, template_meta=None):
    job = {**JOB, "spec": {"template": {"spec": {**JOB["spec"]["template"]["spec"]}}}}
    tpl = job["spec"]["template"]
    tpl["spec"]["containers"] = [{"name": "c", "image": "busybox", **(container_extra or {})}]
    tpl["spec"].update(spec_extra or {})
    if template_meta:
        tpl["metadata"] = template_meta
    return job


# -- duplicate volume names ------------------------------------------------------------------


def test_duplicate_volume_name_from_an_extension():
    def plugin(patch):
        patch.add_volume(V1Volume(name="a", empty_dir=V1EmptyDirVolumeSource()), "plugin 'shm'")

    with pytest.raises(RenderError, match=r"duplicate volume name 'a': from connection 'a' and from plugin 'shm'"):
        render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN, extensions=[plugin])


def test_duplicate_volume_name_against_the_manifest():
    patch = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN)
    job = _job_with(spec_extra={"volumes": [{"name": "a", "emptyDir": {}}]})
    with pytest.raises(RenderError, match=r"duplicate volume name 'a': from the manifest and from connection 'a'"):
        apply_patch(job, patch)


def test_to_dict_checks_again_what_was_added_after_render():
    # render_patch checked the patch; to_dict must not trust that once the patch has changed
    patch = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN)
    patch.to_dict()
    patch.add_volume(V1Volume(name="a", empty_dir=V1EmptyDirVolumeSource()), "a late caller")
    with pytest.raises(RenderError, match=r"duplicate volume name 'a': from connection 'a' and from a late caller"):
        patch.to_dict()


def test_to_dict_checks_a_patch_built_by_hand():
    from k8s import PodPatch

    patch = PodPatch()
    patch.add_mount(V1VolumeMount(name="nowhere", mount_path="/x"), "a caller")
    with pytest.raises(RenderError, match=r"no volume of that name"):
        patch.to_dict()


# -- mount of a missing volume ----------------------------------------------------------------


def test_mount_of_a_missing_volume():
    def plugin(patch):
        patch.add_mount(V1VolumeMount(name="ghost", mount_path="/ghost"), "plugin 'docker'")

    with pytest.raises(RenderError, match=r"main container 'main' mounts volume 'ghost' at /ghost \(from plugin 'docker'\), but the pod has no volume"):
        render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN, extensions=[plugin])


def test_mount_of_a_volume_the_manifest_provides_is_fine():
    def plugin(patch):
        patch.add_mount(V1VolumeMount(name="cache", mount_path="/cache2"), "plugin 'x'")

    catalog = catalog_of(host("a", "/mnt/a", "/a"))
    job = _job_with(spec_extra={"volumes": [{"name": "cache", "emptyDir": {}}]})
    # alone the patch lacks the volume, merged into the job it is there
    patch = render_patch(catalog, None, RUN)
    plugin(patch)
    with pytest.raises(RenderError, match="no volume of that name"):
        patch.check()
    out = apply_patch(job, patch)
    assert_valid(out)
    assert {"name": "cache", "mountPath": "/cache2"} in out["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]


# -- two mounts on one path -------------------------------------------------------------------


def test_two_connections_on_one_mount_path():
    catalog = catalog_of(host("a", "/mnt/a", "/data"), host("b", "/mnt/b", "/data/"))
    with pytest.raises(RenderError, match=r"two mounts on /data in main container 'main': volume 'a' \(from connection 'a'\) and volume 'b' \(from connection 'b'\)"):
        render_patch(catalog, None, RUN)


def test_mount_path_already_used_by_the_manifest():
    patch = render_patch(catalog_of(host("a", "/mnt/a", "/cache")), None, RUN)
    job = _job_with(
        container_extra={"volumeMounts": [{"name": "cache", "mountPath": "/cache"}]},
        spec_extra={"volumes": [{"name": "cache", "emptyDir": {}}]},
    )
    with pytest.raises(RenderError, match=r"two mounts on /cache in main container 'c'"):
        apply_patch(job, patch)


def test_same_path_in_different_containers_is_fine():
    def plugin(patch):
        from kubernetes.client import V1Container

        patch.add_sidecar(
            V1Container(name="sync", image="busybox", volume_mounts=[V1VolumeMount(name="a", mount_path="/a")]),
            "plugin 'collect'",
        )

    out = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN, extensions=[plugin]).to_dict()
    assert [c["name"] for c in out["spec"]["containers"]] == ["main", "sync"]
    assert_patch_valid(out)


# -- /plx-context -----------------------------------------------------------------------------


def test_connection_mounted_on_the_context_path():
    # the values loader refuses it (stores.policy); a catalog built in Python meets the same rule here
    with pytest.raises(ValuesError, match=r"connections\[0\]\.schema\.mountPath: mountPath '/plx-context' is on /plx-context, a parent of"):
        catalog_of(host("a", "/mnt/a", "/plx-context"))
    with pytest.raises(RenderError, match=r"mounts volume 'a' \(from connection 'a'\) on /plx-context, a parent of /plx-context/artifacts, which is reserved"):
        render_patch(python_catalog(host("a", "/mnt/a", "/plx-context")), None, RUN)


def test_mount_on_a_parent_of_the_context_path():
    def plugin(patch):
        patch.add_volume(V1Volume(name="root", empty_dir=V1EmptyDirVolumeSource()), "plugin 'bad'")
        patch.add_mount(V1VolumeMount(name="root", mount_path="/"), "plugin 'bad'")

    with pytest.raises(RenderError, match=r"on /, a parent of /plx-context"):
        render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN, extensions=[plugin])


def test_context_volume_itself_and_mounts_under_the_context_are_fine():
    def plugin(patch):
        patch.add_volume(V1Volume(name=CONTEXT_VOLUME, empty_dir=V1EmptyDirVolumeSource()), "plugin 'context'")
        patch.add_mount(V1VolumeMount(name=CONTEXT_VOLUME, mount_path="/plx-context/artifacts"), "plugin 'context'")

    catalog = catalog_of(host("a", "/mnt/a", "/plx-context/artifacts/a"), host("b", "/mnt/b", "/plx-context/.configs"))
    out = render_patch(catalog, None, RUN, extensions=[plugin]).to_dict()
    paths = [m["mountPath"] for m in out["spec"]["containers"][0]["volumeMounts"]]
    assert paths == ["/plx-context/.configs", "/plx-context/artifacts", "/plx-context/artifacts/a"]
    assert_patch_valid(out)


def test_manifest_mount_on_the_context_path():
    patch = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN)
    job = _job_with(
        container_extra={"volumeMounts": [{"name": "ctx", "mountPath": "/plx-context/"}]},
        spec_extra={"volumes": [{"name": "ctx", "emptyDir": {}}]},
    )
    with pytest.raises(RenderError, match=r"the manifest's container 'c'\) on /plx-context"):
        apply_patch(job, patch)


# -- two sources for one env name -------------------------------------------------------------


def test_two_connections_feed_one_env_name():
    catalog = catalog_of(
        bucket("one", secret={"name": "creds-1", "items": ["AWS_ACCESS_KEY_ID"]}),
        bucket("two", secret={"name": "creds-2", "items": ["AWS_ACCESS_KEY_ID"]}),
    )
    with pytest.raises(RenderError, match=r"env var AWS_ACCESS_KEY_ID of main container 'main' has two sources: connection 'one' \(secret 'creds-1'\) and connection 'two' \(secret 'creds-2'\)"):
        render_patch(catalog, None, RUN)


def test_identical_env_from_two_connections_is_one_source():
    catalog = catalog_of(
        bucket("one", secret={"name": "creds", "items": ["AWS_ACCESS_KEY_ID"]}),
        bucket("two", secret={"name": "creds", "items": ["AWS_ACCESS_KEY_ID"]}),
    )
    out = render_patch(catalog, None, RUN).to_dict()
    names = [v["name"] for v in out["spec"]["containers"][0]["env"]]
    assert names.count("AWS_ACCESS_KEY_ID") == 1
    assert_patch_valid(out)


def test_connection_env_against_the_contract():
    catalog = catalog_of(host("a", "/mnt/a", "/a", env=[{"name": "POLYAXON_RUN_UUID", "value": "x"}]))
    with pytest.raises(RenderError, match=r"env var POLYAXON_RUN_UUID .* two sources: connection 'a' \(env\) and the env contract"):
        render_patch(catalog, None, RUN)


def test_env_against_the_users_existing_env():
    patch = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN)
    job = _job_with(container_extra={"env": [{"name": "POLYAXON_RUN_UUID", "value": "mine"}]})
    with pytest.raises(RenderError, match=r"env var POLYAXON_RUN_UUID of main container 'c' has two sources: the manifest's container 'c' and the env contract"):
        apply_patch(job, patch)


def test_users_identical_env_is_kept_once():
    patch = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN)
    job = _job_with(container_extra={"env": [{"value": RUN.uuid, "name": "POLYAXON_RUN_UUID"}]})
    out = apply_patch(job, patch)
    assert_valid(out)
    env = out["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [v["name"] for v in env].count("POLYAXON_RUN_UUID") == 1
    assert env[0] == {"value": RUN.uuid, "name": "POLYAXON_RUN_UUID"}


def test_two_gcs_keys_need_a_choice():
    gcs = lambda name, secret: bucket(name, "gcs", secret={"name": secret, "items": [{"key": "k", "path": "key.json"}], "mountPath": f"/plx-secrets/{name}"})
    catalog = catalog_of(gcs("g-one", "sa-1"), gcs("g-two", "sa-2"))
    with pytest.raises(RenderError, match=r"GOOGLE_APPLICATION_CREDENTIALS has two sources: connections 'g-one' and 'g-two'"):
        render_patch(catalog, None, RUN)
    out = render_patch(catalog, None, RUN, sdk_defaults={"gcs": "g-two"}).to_dict()
    assert_patch_valid(out)
    env = {v["name"]: v.get("value") for v in out["spec"]["containers"][0]["env"]}
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == "/plx-secrets/g-two/key.json"
    assert env["POLYAXON_CONNECTION_G_ONE_KEY_FILE"] == "/plx-secrets/g-one/key.json"


# -- hostPath deny list -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/proc", "/proc/1/root", "/sys", "/sys/fs/cgroup", "/etc", "/etc/ssl",
                                  "/var/run/docker.sock", "/run/docker.sock", "/var/run", "/var"])
def test_denied_host_paths(path):
    with pytest.raises(ValuesError, match=rf"connections\[0\]\.schema\.hostPath: hostPath '{path}' is not allowed"):
        catalog_of(host("a", path, "/a"))
    with pytest.raises(RenderError, match=rf"hostPath {path} of volume 'a' \(from connection 'a'\) is not allowed"):
        render_patch(python_catalog(host("a", path, "/a")), None, RUN)


@pytest.mark.parametrize("path", ["/etcetera", "/process", "/var/lib/data", "/mnt/sys"])
def test_neighbours_of_denied_paths_are_fine(path):
    out = render_patch(catalog_of(host("a", path, "/a")), None, RUN).to_dict()
    assert out["spec"]["volumes"] == [{"hostPath": {"path": path}, "name": "a"}]
    assert_patch_valid(out)


def test_allowing_the_docker_socket():
    sock = host("docker", "/var/run/docker.sock", "/var/run/docker.sock")
    catalog = python_catalog(sock)
    out = render_patch(catalog, None, RUN, allow_host_paths=["/var/run/docker.sock"]).to_dict()
    assert out["spec"]["volumes"][0]["hostPath"]["path"] == "/var/run/docker.sock"
    assert_patch_valid(out)
    # allowed when loading: the catalog carries the allowance to the renderer
    loaded = Catalog.from_values({"connections": [sock]}, allow_host_paths=["/var/run/docker.sock"])
    assert render_patch(loaded, None, RUN).to_dict() == out


def test_a_plugin_allows_its_own_host_path_and_nothing_more():
    def docker_plugin(patch):
        patch.allow_host_path("/var/run/docker.sock", by="plugin 'docker'")
        patch.add_volume(V1Volume(name="docker", host_path=V1HostPathVolumeSource(path="/var/run/docker.sock", type="Socket")), "plugin 'docker'")
        patch.add_mount(V1VolumeMount(name="docker", mount_path="/var/run/docker.sock"), "plugin 'docker'")

    out = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN, extensions=[docker_plugin]).to_dict()
    assert_patch_valid(out)
    # the socket's parent stays denied
    with pytest.raises(RenderError, match="hostPath /var/run of volume"):
        render_patch(python_catalog(host("a", "/var/run", "/a")), None, RUN, extensions=[docker_plugin])


# -- annotations and container names ----------------------------------------------------------


def test_annotation_with_two_values():
    catalog = catalog_of(bucket("one", annotations={"iam/role": "r1"}), bucket("two", annotations={"iam/role": "r2"}))
    with pytest.raises(RenderError, match=r"pod annotation 'iam/role' has two different values: from connection 'one' and from connection 'two'"):
        render_patch(catalog, None, RUN)


def test_annotation_against_the_manifest():
    patch = render_patch(catalog_of(bucket("one", annotations={"iam/role": "r1"})), None, RUN)
    with pytest.raises(RenderError, match="pod annotation 'iam/role'"):
        apply_patch(_job_with(template_meta={"annotations": {"iam/role": "other"}}), patch)


def test_sidecar_named_like_a_user_container():
    from kubernetes.client import V1Container

    def plugin(patch):
        patch.add_sidecar(V1Container(name="c", image="busybox"), "plugin 'collect'")

    patch = render_patch(catalog_of(host("a", "/mnt/a", "/a")), None, RUN, extensions=[plugin])
    with pytest.raises(RenderError, match="two containers are named 'c'"):
        apply_patch(_job_with(), patch)
