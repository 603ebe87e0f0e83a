"""Plugins (seed 002) on the pod-spec patch: one golden file per plugin and per interacting
combination, each strictly valid for every tested Kubernetes version; hygiene of the added
containers; errors; settings precedence; the render command's plugin flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8s import render_patch
from k8s.checks import CONTEXT_VOLUME
from k8s.plugins import PLUGINS, download_data
from k8s.validate import validate_manifest, wrap_patch
from support.k8s import RUN, assert_golden, assert_golden_delta, assert_patch_valid, patch_delta, python_catalog
from stores.catalog import Catalog
from stores.errors import RenderError, ValuesError
from stores.models import parse_connection
from stores.plugins import Plugins, parse_plugins
from stores.selection import RunRequest
from stores.settings import DEFAULT_TOOLKIT_IMAGE, Settings, load_settings

from support.paths import ROOT
STORES = str(Path(sys.executable).parent / "stores")

S3_ARTIFACTS = {
    "name": "artifacts", "kind": "s3", "schema": {"bucket": "s3://plx-artifacts"},
    "secret": {"name": "artifacts-creds", "mountPath": "/plx-secrets/artifacts"},
}
S3_DATA = {
    "name": "data-s3", "kind": "s3", "schema": {"bucket": "s3://ml-data/sets"},
    "secret": {"name": "s3-creds", "items": [{"key": "key.json", "path": "key.json"}], "mountPath": "/plx-secrets/data-s3"},
}
GCS_DATA = {"name": "data-gcs", "kind": "gcs", "schema": {"bucket": "gs://gcs-data"}, "secret": {"name": "gcs-creds", "mountPath": "/plx-secrets/data-gcs"}}
HOST_DATA = {"name": "data-host", "kind": "host_path", "schema": {"hostPath": "/srv/data", "mountPath": "/data/host", "readOnly": True}}

#: every plugin off: a golden file then shows what one plugin adds and nothing else
OFF = {
    "auth": False, "docker": False, "shm": False, "mountArtifactsStore": False, "collectArtifacts": False,
    "collectLogs": False, "collectResources": False, "autoResume": False, "externalHost": False,
}


def current_catalog() -> Catalog:
    return Catalog.from_values({"artifactsStore": S3_ARTIFACTS, "connections": [S3_DATA, HOST_DATA]})


def split_catalog() -> Catalog:
    """Legacy outputs next to a separate artifacts store (a claim): the artifacts store is then
    not the selected outputs store, so mountArtifactsStore and the sidecar both bring it."""
    return Catalog(
        data=(parse_connection(HOST_DATA),),
        outputs=(parse_connection({"name": "outputs1", "kind": "host_path",
                                   "schema": {"hostPath": "/srv/outputs", "mountPath": "/outputs/1"}}),),
        artifacts_store=parse_connection({"name": "artifacts", "kind": "volume_claim",
                                          "schema": {"volumeClaim": "artifacts-pvc", "mountPath": "/artifacts"}}),
    )


def only(**on):
    return {**OFF, **on}


#: the goldens here are held to every tested version, 1.25 included: rendered for 1.25, so with the
#: classic sidecar (the native one, the default from 1.29: tests/k8s/test_sidecar_modes.py)
CLASSIC = Settings(kube_version="1.25")


def render(plugins, catalog=None, settings=None, **kw):
    return render_patch(catalog or current_catalog(), None, RUN, plugins=plugins, settings=settings or CLASSIC, **kw)


def all_containers(out):
    spec = out["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def added_containers(out):
    return [c for c in all_containers(out) if c["name"] != "main"]


def env_of(container):
    return {v["name"]: v for v in container.get("env", [])}


def main_of(out):
    return next(c for c in out["spec"]["containers"] if c["name"] == "main")


# -- golden files: one per plugin ---------------------------------------------------------------

GOLDEN_CASES = {
    "plugins-none-on": (OFF, None),
    "plugins-shm": (only(shm={"sizeLimit": "2Gi"}), None),
    "plugins-docker": (only(docker=True), None),
    "plugins-auth": (only(auth=True), None),
    "plugins-external-host": (only(auth=True, externalHost=True), Settings(external_api_host="https://plx.example.com")),
    "plugins-log-level": (only(logLevel="warn", collectArtifacts=True), None),
    "plugins-collect-resources": (only(collectResources=True), None),
    "plugins-mount-artifacts-store": (only(mountArtifactsStore=True), None),
    "plugins-collect-artifacts": (only(collectArtifacts=True), None),
    "plugins-collect-logs": (only(collectLogs=True), None),
    "plugins-auto-resume": (only(collectArtifacts=True, autoResume=True), None),
    "plugins-sidecar": (only(collectArtifacts=True, sidecar={"image": "example.com/toolkit:2", "imagePullPolicy": "Always",
                                                             "syncInterval": 30, "resources": {"limits": {"cpu": 1, "memory": "256Mi"}}}), None),
    "plugins-defaults": ({}, None),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_plugin_golden(name):
    """``plugins-none-on`` is the whole patch with every plugin off; every other golden file holds
    only what its plugin changes in it."""
    plugins, settings = GOLDEN_CASES[name]
    out = render(plugins, settings=settings).to_dict()
    if name == "plugins-none-on":
        assert_golden(name, out)
    else:
        assert_golden_delta(name, render(OFF).to_dict(), out, against="plugins-none-on")
    assert_patch_valid(out)


def test_a_golden_delta_shows_only_the_change():
    base = {"spec": {"containers": [{"name": "main", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
                     "volumes": [{"name": "v", "emptyDir": {}}]}}
    new = {"spec": {"containers": [{"name": "main", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}]},
                                   {"name": "side", "image": "x"}],
                    "volumes": []}}
    assert patch_delta(base, new) == {"spec": {
        "containers": [{"name": "main", "env": [{"name": "B", "value": "3"}]}, {"name": "side", "image": "x"}],
        "volumes": [{"(removed)": ["v"]}]}}
    assert patch_delta(base, base) == {}


def test_golden_cases_cover_every_plugin():
    assert set(PLUGINS) == set(Plugins.model_json_schema(by_alias=True)["properties"])
    covered = {k for plugins, _ in GOLDEN_CASES.values() for k, v in plugins.items() if v not in (False, None)}
    assert covered == set(PLUGINS)


# -- combinations that interact -----------------------------------------------------------------


def test_collect_with_mount_artifacts_store_and_auto_resume_golden():
    plugins = only(collectArtifacts=True, mountArtifactsStore=True, autoResume=True)
    patch = render(plugins, catalog=split_catalog())
    out = patch.to_dict()
    assert_golden_delta("plugins-collect-mount-resume", render(OFF, catalog=split_catalog()).to_dict(), out,
                        against="every plugin off, the same catalog")
    assert_patch_valid(out)
    # the claim is one volume, mounted at one path by the main container, the resume init
    # container and the sidecar alike
    claims = [v for v in out["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert [v["persistentVolumeClaim"]["claimName"] for v in claims] == ["artifacts-pvc"]
    for container in (main_of(out), *[c for c in added_containers(out) if c["name"] != "polyaxon-init-artifacts-default"]):
        assert {"mountPath": "/artifacts", "name": claims[0]["name"]} in container["volumeMounts"], container["name"]
    assert patch.resolve("{{ globals.store_path }}") == "/artifacts"


def test_collect_with_mount_on_a_bucket_store_golden():
    plugins = only(collectArtifacts=True, mountArtifactsStore=True, autoResume=True, collectLogs=True)
    out = render(plugins).to_dict()
    assert_golden_delta("plugins-collect-mount-resume-s3", render(OFF).to_dict(), out, against="plugins-none-on")
    assert_patch_valid(out)
    secret_volumes = [v for v in out["spec"]["volumes"] if v.get("secret", {}).get("secretName") == "artifacts-creds"]
    assert len(secret_volumes) == 1


def test_native_sidecar_golden_is_valid_from_129_only():
    out = render(only(collectArtifacts=True, autoResume=True), settings=Settings(sidecar_mode="native")).to_dict()
    classic = render(only(collectArtifacts=True, autoResume=True)).to_dict()
    assert_golden_delta("plugins-native-sidecar", classic, out, against="plugins-auto-resume (the classic sidecar)")
    init = out["spec"]["initContainers"]
    assert [c["name"] for c in init] == ["polyaxon-init-artifacts-default", "polyaxon-init-artifacts-resume", "polyaxon-sidecar"]
    assert init[-1]["restartPolicy"] == "Always"
    assert [c["name"] for c in out["spec"]["containers"]] == ["main"]
    for version in ("1.30", "1.37"):
        validate_manifest(wrap_patch(out, "Job"), version)
    with pytest.raises(RenderError, match="restartPolicy"):
        validate_manifest(wrap_patch(out, "Job"), "1.25")


def test_data_download_golden():
    catalog = Catalog.from_values({"artifactsStore": S3_ARTIFACTS, "connections": [S3_DATA, GCS_DATA, HOST_DATA]})
    patch = render_patch(catalog, None, RUN, plugins=only(logLevel="debug"),
                         extensions=[download_data(["data-s3:train/2024", "data-gcs"])])
    out = patch.to_dict()
    without = render_patch(catalog, None, RUN, plugins=only(logLevel="debug")).to_dict()
    assert_golden_delta("plugins-data-download", without, out, against="the same run without the download")
    assert_patch_valid(out)
    init = {c["name"].rsplit("-", 1)[0]: c for c in out["spec"]["initContainers"]}
    assert init["polyaxon-init-artifacts-data-s3"]["command"] == ["stores", "cp", "data-s3:train/2024", "/plx-context/artifacts/data-s3"]
    gcs = env_of(init["polyaxon-init-artifacts-data-gcs"])
    # the GCS key reaches the SDK in the init container just as in the main container
    assert gcs["GOOGLE_APPLICATION_CREDENTIALS"]["value"] == env_of(main_of(out))["GOOGLE_APPLICATION_CREDENTIALS"]["value"]
    assert json.loads(gcs["POLYAXON_RUN_DATA_PATHS"]["value"]) == {"data-gcs": "gs://gcs-data"}


# -- what each plugin promises -------------------------------------------------------------------


def test_defaults_are_the_seeds():
    p = Plugins()
    assert (p.auth, p.docker, p.shm.enabled, p.mount_artifacts_store, p.collect_artifacts, p.collect_logs,
            p.collect_resources, p.auto_resume, p.external_host, p.log_level) == (
        True, False, True, False, True, True, True, True, False, None)
    assert render({}).to_dict() == render(Plugins()).to_dict()
    assert render({"plugins": {key: None for key in PLUGINS}}).to_dict() == render(Plugins()).to_dict()


def test_python_and_yaml_spellings_render_the_same():
    doc = yaml.safe_load("plugins:\n  docker: true\n  shm: false\n  logLevel: info\n  sidecar:\n    syncInterval: 60\n")
    python = Plugins(docker=True, shm=False, log_level="INFO", sidecar={"sync_interval": 60})
    assert render(doc).to_dict() == render(python).to_dict()


@pytest.mark.parametrize("doc, key", [({"dockr": True}, "dockr"), ({"sidecar": {"interval": 5}}, "interval")])
def test_unknown_plugin_keys_are_errors(doc, key):
    with pytest.raises(ValuesError, match=f"unknown plugin key '{key}'"):
        render(doc)


def test_no_plugins_adds_nothing():
    without = render_patch(current_catalog(), None, RUN).to_dict()
    assert render(None).to_dict() == without
    assert not [v for v in without["spec"].get("volumes", []) if v["name"].startswith("plx-")]
    assert added_containers(without) == []


def test_shm_is_a_memory_empty_dir():
    out = render(only(shm=True)).to_dict()
    assert [v for v in out["spec"]["volumes"] if v["name"] == "shm"] == [
        {"emptyDir": {"medium": "Memory"}, "name": "shm"}]
    assert {"mountPath": "/dev/shm", "name": "shm"} in main_of(out)["volumeMounts"]


def test_docker_socket_is_allowed_only_through_the_plugin():
    patch = render(only(docker=True))
    assert patch.allowed_host_paths == {"/var/run/docker.sock": "plugin 'docker'"}
    volume = next(v for v in patch.to_dict()["spec"]["volumes"] if v["name"] == "docker")
    assert volume["hostPath"] == {"path": "/var/run/docker.sock", "type": "Socket"}
    # the same socket through a connection, without the plugin, is refused: by the loader (with
    # its path) and, for a catalog built past the loader, by the renderer
    sneaky = {"name": "sock", "kind": "host_path", "schema": {"hostPath": "/var/run/docker.sock", "mountPath": "/sock"}}
    with pytest.raises(ValuesError, match=r"connections\[0\]\.schema\.hostPath: .*docker\.sock"):
        Catalog.from_values({"connections": [sneaky]})
    with pytest.raises(RenderError, match="docker.sock"):
        render(OFF, catalog=python_catalog(sneaky))


def test_auth_token_is_a_secret_key_ref_and_host_follows_external_host():
    settings = Settings(auth_secret="run-1234-auth", auth_token_key="tok", api_host="http://api:80",
                        external_api_host="https://plx.example.com")
    env = env_of(main_of(render(only(auth=True), settings=settings).to_dict()))
    assert env["POLYAXON_AUTH_TOKEN"] == {"name": "POLYAXON_AUTH_TOKEN",
                                          "valueFrom": {"secretKeyRef": {"name": "run-1234-auth", "key": "tok"}}}
    assert env["POLYAXON_HOST"]["value"] == "http://api:80"
    external = env_of(main_of(render(only(auth=True, externalHost=True), settings=settings).to_dict()))
    assert external["POLYAXON_HOST"]["value"] == "https://plx.example.com"
    assert "POLYAXON_HOST" not in env_of(main_of(render(OFF, settings=settings).to_dict()))


def test_external_host_without_a_host_is_an_error():
    with pytest.raises(RenderError, match="STORES_EXTERNAL_API_HOST"):
        render(only(externalHost=True))


def test_log_level_reaches_every_container():
    out = render({"logLevel": "error"}, extensions=[download_data(["data-s3"])]).to_dict()
    assert len(added_containers(out)) == 4
    for container in all_containers(out):
        assert env_of(container)["POLYAXON_LOG_LEVEL"]["value"] == "ERROR", container["name"]


@pytest.mark.parametrize("flag, value", [(True, "true"), (False, "false")])
def test_collect_resources_flag(flag, value):
    assert env_of(main_of(render(only(collectResources=flag)).to_dict()))["POLYAXON_COLLECT_RESOURCES"]["value"] == value


def test_mount_artifacts_store_sets_store_path():
    assert render(only(mountArtifactsStore=True)).resolve("{{ globals.store_path }}") == "s3://plx-artifacts"
    from stores.errors import TemplateError

    with pytest.raises(TemplateError, match="mountArtifactsStore"):
        render(OFF).resolve("{{ globals.store_path }}")


def test_legacy_outputs_store_is_the_artifacts_store():
    catalog = Catalog.from_file(ROOT / "examples" / "seed-004-values.yaml")
    patch = render_patch(catalog, RunRequest(outputs="outputs2"), RUN, plugins=only(mountArtifactsStore=True, collectArtifacts=True),
                         settings=CLASSIC)
    assert patch.resolve("{{ globals.store_path }}") == catalog.get("outputs2").store_path
    sidecar = next(c for c in patch.to_dict()["spec"]["containers"] if c["name"] == "polyaxon-sidecar")
    assert sidecar["command"][3] == f"outputs2:{RUN.uuid}"  # a run's folder is <store>/<uuid>


@pytest.mark.parametrize("plugins", [only(mountArtifactsStore=True), only(collectArtifacts=True), only(collectLogs=True)])
def test_plugins_needing_an_artifacts_store_say_so(plugins):
    with pytest.raises(RenderError, match="needs an artifacts store"):
        render(plugins, catalog=Catalog.from_values({"connections": [S3_DATA]}))


def test_collect_logs_alone_syncs_the_logs_folder():
    out = render(only(collectLogs=True)).to_dict()
    sidecar = next(c for c in out["spec"]["containers"] if c["name"] == "polyaxon-sidecar")
    assert sidecar["command"][2:4] == [f"/plx-context/artifacts/{RUN.uuid}/logs", f"artifacts:{RUN.uuid}/logs"]


def test_context_volume_init_and_sidecar():
    out = render(only(collectArtifacts=True)).to_dict()
    assert {"emptyDir": {}, "name": CONTEXT_VOLUME} in out["spec"]["volumes"]
    assert {"mountPath": "/plx-context/artifacts", "name": CONTEXT_VOLUME} in main_of(out)["volumeMounts"]
    init = out["spec"]["initContainers"][0]
    run_dir = f"/plx-context/artifacts/{RUN.uuid}"
    assert init["command"][-3:] == ["/plx-context/artifacts", run_dir, run_dir + "/outputs"]
    sidecar = out["spec"]["containers"][-1]
    assert sidecar["command"] == ["stores", "sync", run_dir, f"artifacts:{RUN.uuid}", "--watch", "--interval", "10",
                                  "--report", "/plx-context/artifacts/.stores-sidecar-report.json",
                                  "--until-file", "/plx-context/artifacts/.stores-main-done"]


def test_auto_resume_needs_collect_artifacts():
    out = render(only(autoResume=True)).to_dict()
    assert "initContainers" not in out["spec"]


def test_added_containers_are_hardened_and_use_the_toolkit_image():
    settings = Settings(toolkit_image="registry.local/stores:9", run_as_user=4242,
                        toolkit_resources={"requests": {"cpu": "10m"}})
    out = render({"logLevel": "info"}, settings=settings, extensions=[download_data(["data-s3"])]).to_dict()
    for container in added_containers(out):
        assert container["image"] == "registry.local/stores:9"
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
            "runAsGroup": 4242, "runAsNonRoot": True, "runAsUser": 4242, "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert container["resources"] == {"requests": {"cpu": "10m"}}
        assert {"mountPath": "/tmp", "name": "plx-toolkit-tmp"} in container["volumeMounts"]


def test_no_secret_travels_as_a_literal():
    catalog = Catalog.from_values({"artifactsStore": {**S3_ARTIFACTS, "secret": {"name": "artifacts-env"}},
                                   "connections": [S3_DATA]})
    out = render({"mountArtifactsStore": True}, catalog=catalog, extensions=[download_data(["data-s3"])]).to_dict()
    for container in all_containers(out):
        for name, var in env_of(container).items():
            if any(word in name for word in ("TOKEN", "SECRET", "PASSWORD", "ACCOUNT_KEY")) and not name.endswith("_KEY_FILE"):
                assert "value" not in var, f"{container['name']}: {name} is a literal"
    sidecar = next(c for c in out["spec"]["containers"] if c["name"] == "polyaxon-sidecar")
    # a secret without mountPath reaches the sidecar as envFrom; the main container does not get
    # the artifacts store's credentials unless asked (mountArtifactsStore), as in Polyaxon
    assert {"secretRef": {"name": "artifacts-env"}} in sidecar["envFrom"]
    assert {"secretRef": {"name": "artifacts-env"}} in main_of(out)["envFrom"]  # asked for
    unmounted = render({}, catalog=catalog).to_dict()
    assert {"secretRef": {"name": "artifacts-env"}} not in main_of(unmounted).get("envFrom", [])


def test_toolkit_containers_get_the_same_credentials_as_the_main_container():
    out = render(only(collectArtifacts=True), extensions=[download_data(["data-s3"])]).to_dict()
    main_env = env_of(main_of(out))
    init = next(c for c in out["spec"]["initContainers"] if c["name"].startswith("polyaxon-init-artifacts-data-s3-"))
    key_var = "POLYAXON_CONNECTION_DATA_S3_KEY_FILE"
    assert env_of(init)[key_var] == main_env[key_var]
    main_mount = next(m for m in main_of(out)["volumeMounts"] if m["mountPath"] == "/plx-secrets/data-s3")
    assert main_mount in init["volumeMounts"]


def test_a_volume_store_is_copied_too():
    """Polyaxon's init copies from claims and host paths as well as buckets."""
    out = render(only(collectArtifacts=True), extensions=[download_data(["data-host"])]).to_dict()
    init = next(c for c in out["spec"]["initContainers"] if c["name"].startswith("polyaxon-init-artifacts-data-host-"))
    assert init["command"] == ["stores", "cp", "data-host:", "/plx-context/artifacts/data-host"]
    assert {"mountPath": "/data/host", "name": "data-host", "readOnly": True} in init["volumeMounts"]
    assert_patch_valid(out)


def test_output_is_deterministic():
    a = render({}, extensions=[download_data(["data-s3"])]).to_dict()
    b = render({}, extensions=[download_data(["data-s3"])]).to_dict()
    assert json.dumps(a) == json.dumps(b)


@pytest.mark.parametrize("downloads, message", [
    (["nope"], "not a selected data store"),
    (["data-s3", "data-s3:x"], "downloaded twice"),
])
def test_download_errors(downloads, message):
    with pytest.raises(RenderError, match=message):
        render(OFF, extensions=[download_data(downloads)])


# -- settings --------------------------------------------------------------------------------------


def test_settings_precedence_explicit_env_default():
    assert load_settings({}).toolkit_image == DEFAULT_TOOLKIT_IMAGE
    env = {"STORES_TOOLKIT_IMAGE": "env/img:1", "STORES_RUN_AS_USER": "1234", "STORES_SIDECAR_MODE": "native"}
    from_env = load_settings(env)
    assert (from_env.toolkit_image, from_env.run_as_user, from_env.sidecar_mode) == ("env/img:1", 1234, "native")
    explicit = load_settings(env, toolkit_image="flag/img:2", sidecar_mode=None)
    assert (explicit.toolkit_image, explicit.sidecar_mode) == ("flag/img:2", "native")


@pytest.mark.parametrize("env, explicit, where", [
    ({"STORES_RUN_AS_USER": "0"}, {}, "$STORES_RUN_AS_USER"),
    ({}, {"run_as_user": 0}, "the caller"),
    ({"STORES_TOOLKIT_RESOURCES": '{"limits": {"memory": "lots"}}'}, {}, "$STORES_TOOLKIT_RESOURCES"),
    ({"STORES_SIDECAR_MODE": "sometimes"}, {}, "$STORES_SIDECAR_MODE"),
])
def test_bad_settings_name_their_source(env, explicit, where):
    with pytest.raises(ValuesError) as info:
        load_settings(env, **explicit)
    assert where in str(info.value)


def test_render_patch_never_reads_the_environment(monkeypatch):
    monkeypatch.setenv("STORES_TOOLKIT_IMAGE", "env/img:1")
    out = render(only(collectArtifacts=True)).to_dict()
    assert {c["image"] for c in added_containers(out)} == {DEFAULT_TOOLKIT_IMAGE}


# -- the render command ------------------------------------------------------------------------------


def run_cli(*args, env=None):
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("STORES_")}
    return subprocess.run([STORES, "render", *args], capture_output=True, text=True, env={**full_env, **(env or {})}, timeout=120)


@pytest.fixture(scope="module")
def values_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("values") / "values.yaml"
    path.write_text(yaml.safe_dump({"artifactsStore": S3_ARTIFACTS, "connections": [S3_DATA, HOST_DATA]}))
    return path


def test_cli_plugins_file_and_flags(values_file, tmp_path):
    plugins = tmp_path / "plugins.yaml"
    plugins.write_text("plugins:\n  docker: true\n  logLevel: info\n")
    result = run_cli(str(values_file), "--plugins", str(plugins), "--no-collect", "--shm-size", "1Gi",
                     "--sync-interval", "5", "--download-data", "data-s3:train", "--validate", "1.25",
                     "--run-uuid", RUN.uuid, "--owner", RUN.owner, "--project", RUN.project, "--name", RUN.name)
    assert result.returncode == 0, result.stderr
    out = yaml.safe_load(result.stdout)
    expected = render_patch(current_catalog(), None, RUN,
                            plugins={"docker": True, "logLevel": "info", "collectArtifacts": False, "collectLogs": False,
                                     "shm": {"sizeLimit": "1Gi"}, "sidecar": {"syncInterval": 5}},
                            settings=load_settings({}), extensions=[download_data(["data-s3:train"])]).to_dict()
    assert out == expected


def test_cli_toolkit_image_flag_beats_the_environment(values_file):
    env = {"STORES_TOOLKIT_IMAGE": "env/img:1"}
    from_env = yaml.safe_load(run_cli(str(values_file), "--shm", env=env).stdout)
    assert {c["image"] for c in added_containers(from_env)} == {"env/img:1"}
    flagged = yaml.safe_load(run_cli(str(values_file), "--shm", "--toolkit-image", "flag/img:2", env=env).stdout)
    assert {c["image"] for c in added_containers(flagged)} == {"flag/img:2"}


def test_cli_without_plugin_options_adds_no_plugins(values_file):
    out = yaml.safe_load(run_cli(str(values_file)).stdout)
    assert added_containers(out) == []


@pytest.mark.parametrize("args, message", [
    (["--plugins", '{"dockr": true}'], "unknown plugin key 'dockr'"),
    (["--external-host"], "STORES_EXTERNAL_API_HOST"),
    (["--download-data", "bad name!"], "--download-data"),
    (["--log-level", "loud"], "logLevel must be one of"),
])
def test_cli_plugin_errors_exit_1(values_file, args, message):
    result = run_cli(str(values_file), *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_parse_plugins_names_the_key():
    with pytest.raises(ValuesError, match=r"plugins\.sidecar\.syncInterval"):
        parse_plugins({"sidecar": {"syncInterval": 0}})
