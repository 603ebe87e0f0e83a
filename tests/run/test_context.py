"""Context precedence (seed 000): explicit > environment > in-cluster > local file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stores import ContextError
from stores.contract.context import ClientContext, resolve_context
from support.paths import ROOT

SECRET = "tok-s3cr3t-value"


@pytest.fixture
def cluster(tmp_path) -> Path:
    d = tmp_path / "cluster"
    d.mkdir()
    (d / "context.json").write_text(json.dumps({"host": "http://in-cluster", "timeout": 30,
                                                "owner": "cl-owner", "project": "cl-project"}))
    return d


@pytest.fixture
def local_file(tmp_path) -> Path:
    f = tmp_path / "local.json"
    f.write_text(json.dumps({"host": "http://from-file", "timeout": 40, "log_level": "debug",
                             "owner": "file-owner", "project": "file-project", "run_uuid": "file-run"}))
    return f


IN_CLUSTER = {"POLYAXON_IS_IN_CLUSTER": "true"}
ENV = {"POLYAXON_HOST": "http://from-env", "POLYAXON_TIMEOUT": "20"}


# -- one test per ordered pair of sources -------------------------------------------------------


def test_explicit_over_env(tmp_path):
    c = resolve_context(host="http://explicit", environ=ENV, config_file=_empty(tmp_path))
    assert c.host == "http://explicit" and c.sources["host"] == "explicit"
    assert c.timeout == 20.0 and c.sources["timeout"] == "env"


def test_explicit_over_in_cluster(tmp_path, cluster):
    c = resolve_context(host="http://explicit", environ=IN_CLUSTER, cluster_dir=cluster,
                        config_file=_empty(tmp_path))
    assert c.host == "http://explicit"
    assert c.timeout == 30.0 and c.sources["timeout"] == "in-cluster"
    assert c.in_cluster


def test_explicit_over_file(local_file):
    c = resolve_context(host="http://explicit", timeout=5, environ={}, config_file=local_file)
    assert (c.host, c.timeout, c.log_level) == ("http://explicit", 5.0, "DEBUG")
    assert c.sources["log_level"] == f"file:{local_file}"


def test_env_over_in_cluster(tmp_path, cluster):
    c = resolve_context(environ={**ENV, **IN_CLUSTER}, cluster_dir=cluster, config_file=_empty(tmp_path))
    assert (c.host, c.timeout) == ("http://from-env", 20.0)
    assert c.owner == "cl-owner" and c.sources["owner"] == "in-cluster"


def test_env_over_file(local_file):
    c = resolve_context(environ=ENV, config_file=local_file)
    assert (c.host, c.timeout) == ("http://from-env", 20.0)
    assert c.project == "file-project"


def test_in_cluster_over_file(cluster, local_file):
    c = resolve_context(environ=IN_CLUSTER, cluster_dir=cluster, config_file=local_file)
    assert (c.host, c.timeout) == ("http://in-cluster", 30.0)
    assert c.log_level == "DEBUG"  # only the file has it
    # the cluster named the project, so the file's cached run (another project's) is dropped
    assert (c.owner, c.project, c.run_uuid) == ("cl-owner", "cl-project", None)


def _empty(tmp_path: Path) -> Path:
    f = tmp_path / "empty.json"
    f.write_text("{}")
    return f


# -- sources in detail ----------------------------------------------------------------------------


def test_every_env_variable(tmp_path):
    environ = {
        "POLYAXON_HOST": "https://plx.example.com/", "POLYAXON_AUTH_TOKEN": SECRET,
        "POLYAXON_VERIFY_SSL": "false", "POLYAXON_SSL_CA_CERT": "/ca.pem", "POLYAXON_CERT_FILE": "/c.pem",
        "POLYAXON_KEY_FILE": "/k.pem", "POLYAXON_DEBUG": "1", "POLYAXON_TIMEOUT": "12.5",
        "POLYAXON_LOG_LEVEL": "warning", "POLYAXON_RUN_INSTANCE": "acme.vision.runs.u1",
    }
    c = resolve_context(environ=environ, config_file=_empty(tmp_path))
    assert c == ClientContext(host="https://plx.example.com", token=SECRET, verify_ssl=False, ssl_ca_cert="/ca.pem",
                              cert_file="/c.pem", key_file="/k.pem", debug=True, timeout=12.5, log_level="WARNING",
                              owner="acme", project="vision", run_uuid="u1")
    assert set(c.sources.values()) == {"env"}


def test_kubernetes_signal_and_explicit_off(tmp_path, cluster):
    assert resolve_context(environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, cluster_dir=cluster,
                           config_file=_empty(tmp_path)).host == "http://in-cluster"
    with pytest.raises(ContextError, match="no context found"):
        resolve_context(environ={"KUBERNETES_SERVICE_HOST": "10.0.0.1", "POLYAXON_IS_IN_CLUSTER": "false"},
                        cluster_dir=cluster, config_file=_empty(tmp_path))


def test_cluster_dir_from_env_and_token_file(tmp_path, cluster):
    (cluster / "token").write_text(SECRET + "\n")
    c = resolve_context(environ={**IN_CLUSTER, "STORES_CLUSTER_CONTEXT_DIR": str(cluster)},
                        config_file=_empty(tmp_path))
    assert c.token == SECRET and c.sources["token"] == "in-cluster"


def test_in_cluster_without_files_is_a_context(tmp_path):
    c = resolve_context(environ=IN_CLUSTER, cluster_dir=tmp_path / "absent", config_file=_empty(tmp_path))
    assert c.in_cluster and c.host is None
    with pytest.raises(ContextError, match=r"no host \(argument host=, or POLYAXON_HOST\)"):
        c.require("host")


def test_local_file_from_polyaxon_home(tmp_path):
    (tmp_path / "context.json").write_text('{"host": "http://home"}')
    assert resolve_context(environ={"POLYAXON_HOME": str(tmp_path)}).host == "http://home"
    other = tmp_path / "other.json"
    other.write_text('{"host": "http://named"}')
    assert resolve_context(environ={"POLYAXON_CONTEXT_FILE": str(other),
                                    "POLYAXON_HOME": str(tmp_path)}).host == "http://named"


def test_no_context_at_all(tmp_path):
    with pytest.raises(ContextError) as info:
        resolve_context(environ={"POLYAXON_HOME": str(tmp_path)})
    msg = str(info.value)
    assert "no context found" in msg and "POLYAXON_HOST" in msg and str(tmp_path / "context.json") in msg


# -- switching owner / project / run (seed 000) ---------------------------------------------------


def test_project_with_owner(local_file):
    c = resolve_context(project="org-name/project-name", environ={}, config_file=local_file)
    assert (c.owner, c.project, c.run_uuid) == ("org-name", "project-name", None)
    assert c.project_unique_name == "org-name/project-name"


def test_owner_and_project_arguments(local_file):
    c = resolve_context(owner="org", project="proj", run_uuid="uuid", environ={}, config_file=local_file)
    assert (c.owner, c.project, c.run_uuid) == ("org", "proj", "uuid")


def test_project_alone_keeps_the_owner(local_file):
    c = resolve_context(project="project-name", environ={}, config_file=local_file)
    assert (c.owner, c.project, c.run_uuid) == ("file-owner", "project-name", None)


def test_run_alone_keeps_the_project(local_file):
    c = resolve_context(run_uuid="uuid", environ={}, config_file=local_file)
    assert (c.owner, c.project, c.run_uuid) == ("file-owner", "file-project", "uuid")


def test_cached_run_kept_when_nothing_switches(local_file):
    assert resolve_context(environ={}, config_file=local_file).run_uuid == "file-run"


@pytest.mark.parametrize("kw, match", [
    ({"project": "a/b/c"}, "project must be 'name' or 'owner/name'"),
    ({"project": "/b"}, "project must be 'name' or 'owner/name'"),
    ({"owner": "x", "project": "y/z"}, "owner 'x' disagrees with project 'y/z'"),
    ({"log_level": "loud"}, "must be one of DEBUG"),
    ({"timeout": -1}, "must be positive"),
])
def test_bad_arguments(tmp_path, kw, match):
    with pytest.raises(ContextError, match=match):
        resolve_context(environ={}, config_file=_empty(tmp_path), **kw)


@pytest.mark.parametrize("environ, match", [
    ({"POLYAXON_TIMEOUT": "soon"}, "POLYAXON_TIMEOUT must be a number of seconds, got 'soon'"),
    ({"POLYAXON_VERIFY_SSL": "perhaps"}, "POLYAXON_VERIFY_SSL must be true or false"),
    ({"POLYAXON_IS_IN_CLUSTER": "perhaps"}, "POLYAXON_IS_IN_CLUSTER must be true or false"),
    ({"POLYAXON_RUN_INSTANCE": "acme.u1"}, "must look like owner.project.runs.uuid"),
    ({"POLYAXON_RUN_INSTANCE": "a.b.runs.u1", "POLYAXON_RUN_UUID": "u2"}, "disagrees"),
])
def test_bad_environment(tmp_path, environ, match):
    with pytest.raises(ContextError, match=match):
        resolve_context(environ=environ, config_file=_empty(tmp_path))


@pytest.mark.parametrize("text, match", [
    ("{oops", "is not valid JSON"),
    ("[1]", "must hold a JSON object"),
    ('{"hots": "x"}', r"unknown key\(s\) 'hots'"),
    ('{"timeout": "x"}', "timeout must be a number"),
])
def test_bad_files(tmp_path, text, match):
    f = tmp_path / "ctx.json"
    f.write_text(text)
    with pytest.raises(ContextError, match=match):
        resolve_context(environ={}, config_file=f)


def test_named_file_that_does_not_exist(tmp_path):
    with pytest.raises(ContextError, match=r"context file .*missing\.json' cannot be read"):
        resolve_context(environ={"POLYAXON_CONTEXT_FILE": str(tmp_path / "missing.json")})


# -- the token is never shown --------------------------------------------------------------------


def test_token_never_in_repr_or_errors(tmp_path):
    c = resolve_context(token=SECRET, host="http://h", environ={}, config_file=_empty(tmp_path))
    assert c.token == SECRET
    assert SECRET not in repr(c) and SECRET not in str(c) and "token='***'" in repr(c)
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"token": 12345678}))
    with pytest.raises(ContextError) as info:
        resolve_context(environ={}, config_file=f)
    assert "12345678" not in str(info.value) and "a secret" in str(info.value)


def test_context_module_is_stdlib_only():
    code = "import sys, stores.contract.context; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=ROOT)
    assert proc.stdout.strip() == "[]"
