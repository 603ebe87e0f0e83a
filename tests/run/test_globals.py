"""globals.* (seed 003): every variable, template resolution, the literal-vs-reference rule."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from stores import Catalog, TemplateError
from stores.contract.globals import (
    BASE_NAMES,
    KNOWN_NAMES,
    Globals,
    ReplicaSpec,
    compute_globals,
    distributed_globals,
    replica_globals,
)
from stores.contract.runinfo import RunInfo
from stores.templates import format_value, render, resolve, resolve_param, resolve_params
from support.paths import ROOT

RUN = RunInfo(
    uuid="c0ffee",
    owner="acme",
    project="vision",
    name="train-1",
    project_uuid="p-123",
    namespace="polyaxon",
    created_at="2024-05-01T10:00:00+00:00",
    compiled_at="2024-05-01T10:00:05+00:00",
    cloning_kind="restart",
    original_uuid="beef",
    is_independent=False,
    iteration=3,
)


@pytest.fixture
def g() -> Globals:
    return compute_globals(RUN)


# -- every variable of seed 003 ---------------------------------------------------------------

EXPECTED = {
    "owner_name": "acme",
    "project_name": "vision",
    "project_unique_name": "acme.vision",
    "project_uuid": "p-123",
    "run_info": "acme.vision.c0ffee",
    "name": "train-1",
    "uuid": "c0ffee",
    "namespace": "polyaxon",
    "context_path": "/plx-context",
    "artifacts_path": "/plx-context/artifacts",
    "run_artifacts_path": "/plx-context/artifacts/c0ffee",
    "run_outputs_path": "/plx-context/artifacts/c0ffee/outputs",
    "created_at": "2024-05-01T10:00:00+00:00",
    "compiled_at": "2024-05-01T10:00:05+00:00",
    "cloning_kind": "restart",
    "original_uuid": "beef",
    "is_independent": False,
    "iteration": 3,
}


@pytest.mark.parametrize("name", BASE_NAMES)
def test_base_variable(g, name):
    assert g[name] == EXPECTED[name]


@pytest.mark.parametrize("name, text", [
    ("owner_name", "acme"), ("project_name", "vision"), ("project_unique_name", "acme.vision"),
    ("project_uuid", "p-123"), ("run_info", "acme.vision.c0ffee"), ("name", "train-1"),
    ("uuid", "c0ffee"), ("namespace", "polyaxon"), ("context_path", "/plx-context"),
    ("artifacts_path", "/plx-context/artifacts"), ("run_artifacts_path", "/plx-context/artifacts/c0ffee"),
    ("run_outputs_path", "/plx-context/artifacts/c0ffee/outputs"),
    ("created_at", "2024-05-01T10:00:00+00:00"), ("compiled_at", "2024-05-01T10:00:05+00:00"),
    ("cloning_kind", "restart"), ("original_uuid", "beef"), ("is_independent", "false"), ("iteration", "3"),
])
def test_base_variable_in_template(g, name, text):
    assert render(f"<{{{{ globals.{name} }}}}>", g) == f"<{text}>"


def test_expected_covers_the_seed_list():
    assert set(EXPECTED) == set(BASE_NAMES)
    assert {"store_path", "base_url", "ports", "schedule_at", "status", "condition", "finished_at",
            "duration"} <= set(KNOWN_NAMES)


def test_context_path_override():
    g = compute_globals(RUN, context_path="/ctx")
    assert g["run_outputs_path"] == "/ctx/artifacts/c0ffee/outputs"


def test_defaults_of_a_minimal_run():
    g = compute_globals(RunInfo(uuid="u"))
    assert g["is_independent"] is True
    assert g["owner_name"] == "default" and g["run_info"] == "default.default.u"
    for name in ("name", "project_uuid", "namespace", "created_at", "compiled_at", "cloning_kind",
                 "original_uuid", "iteration"):
        assert g[name] is None


@pytest.mark.parametrize("name, why", [
    ("name", "the run has no name"),
    ("cloning_kind", "not restarted or copied"),
    ("iteration", "not part of an iterative process"),
    ("namespace", "no namespace"),
])
def test_empty_value_in_template_is_an_error_saying_why(name, why):
    g = compute_globals(RunInfo(uuid="u"))
    with pytest.raises(TemplateError, match=f"globals.{name} has no value for this run: .*{why}"):
        render(f"x-{{{{ globals.{name} }}}}", g)


# -- store_path ---------------------------------------------------------------------------------


def test_store_path_only_when_mounted(seed_values_path):
    catalog = Catalog.from_file(seed_values_path)
    s3 = catalog.get("outputs-s3")
    assert compute_globals(RUN, artifacts_store=s3, mount_artifacts_store=True)["store_path"] == "s3://outputs-bucket"
    claim = catalog.get("outputs2")
    assert compute_globals(RUN, artifacts_store=claim, mount_artifacts_store=True)["store_path"] == "/outputs/2"
    assert compute_globals(RUN, artifacts_store="/mnt/art", mount_artifacts_store=True)["store_path"] == "/mnt/art"
    with pytest.raises(TemplateError, match=r"globals.store_path is not available .*mountArtifactsStore"):
        render("{{ globals.store_path }}", compute_globals(RUN, artifacts_store=s3))
    with pytest.raises(TemplateError, match="no artifacts store is defined"):
        render("{{globals.store_path}}", compute_globals(RUN, mount_artifacts_store=True))


# -- services, schedules, references -----------------------------------------------------------


def test_service_base_url_and_ports():
    g = compute_globals(RUN, kind="service", ports=[8888, 6006])
    assert g["base_url"] == "/services/v1/polyaxon/acme/vision/runs/c0ffee"
    assert g["ports"] == [8888, 6006]
    assert render("--port={{ globals.ports }} --base={{ globals.base_url }}", g) == (
        "--port=[8888,6006] --base=/services/v1/polyaxon/acme/vision/runs/c0ffee"
    )
    assert compute_globals(RUN, kind="service", base_url="/custom", ports=[1])["base_url"] == "/custom"


def test_service_without_namespace_or_ports():
    g = compute_globals(RunInfo(uuid="u"), kind="service")
    with pytest.raises(TemplateError, match="needs the run's namespace"):
        g["base_url"]
    with pytest.raises(TemplateError, match="declares no ports"):
        g["ports"]


def test_base_url_only_for_services(g):
    with pytest.raises(TemplateError, match="only set for services, and this run is a job"):
        render("{{ globals.base_url }}", g)


def test_schedule_at():
    at = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    g = compute_globals(RUN, schedule_at=at)
    assert g["schedule_at"] == at
    assert render("{{ globals.schedule_at }}", g) == "2024-05-01T12:00:00+00:00"
    from_extra = compute_globals(RunInfo(uuid="u", extra={"schedule_at": "2024-01-01T00:00:00"}))
    assert from_extra["schedule_at"] == "2024-01-01T00:00:00"
    with pytest.raises(TemplateError, match="not created by a schedule"):
        compute_globals(RUN)["schedule_at"]


@pytest.mark.parametrize("name", ["status", "condition", "finished_at", "duration", "started_at"])
def test_reference_fields(name):
    done = RunInfo(uuid="up", extra={"status": "succeeded", "condition": {"type": "succeeded"},
                                     "started_at": "t0", "finished_at": "t1", "duration": 12.5})
    ref = compute_globals(done, reference=True)
    assert ref[name] == done.extra[name]
    with pytest.raises(TemplateError, match="only set on a referenced run"):
        compute_globals(done)[name]


def test_extra_keys_are_added_but_cannot_override():
    assert compute_globals(RunInfo(uuid="u", extra={"team": "cv"}))["team"] == "cv"
    with pytest.raises(TemplateError, match="may not override globals.uuid"):
        compute_globals(RunInfo(uuid="u", extra={"uuid": "other"}))


# -- the resolver -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "{{globals.uuid}}", "{{ globals.uuid }}", "{{   globals.uuid\t}}", "{{\n globals.uuid \n}}",
])
def test_whitespace_tolerant(g, text):
    assert render(text, g) == "c0ffee"


def test_several_references_in_one_string(g):
    assert render("{{ globals.owner_name }}/{{ globals.project_name }}/{{ globals.uuid }}.log", g) == (
        "acme/vision/c0ffee.log"
    )


def test_other_contexts_are_left_alone(g):
    assert render("--lr={{ lr }} --id={{ globals.uuid }} {{ connections['x'].url }}", g) == (
        "--lr={{ lr }} --id=c0ffee {{ connections['x'].url }}"
    )


def test_unknown_variable_names_it_and_lists_known(g):
    with pytest.raises(TemplateError) as info:
        render("{{ globals.uid }}", g)
    msg = str(info.value)
    assert "globals.uid" in msg
    for name in ("uuid", "owner_name", "run_outputs_path", "store_path"):
        assert name in msg


@pytest.mark.parametrize("text", ["{{ globals.uuid | upper }}", "{{ globals['uuid'] }}", "{{ globals }}",
                                  "{{ globals.a.b }}", "{{ globals.uuid + 1 }}"])
def test_non_plain_globals_expressions_are_errors(g, text):
    with pytest.raises(TemplateError, match="only plain"):
        render(text, g)


def test_one_pass_no_reexpansion():
    g = compute_globals(RunInfo(uuid="u", name="{{ globals.uuid }}"))
    assert render("{{ globals.name }}", g) == "{{ globals.uuid }}"


def test_resolve_walks_commands_args_env_and_paths(g):
    container = {
        "command": ["python", "train.py"],
        "args": ["--out={{ globals.run_outputs_path }}", "--iter={{ globals.iteration }}", 5],
        "env": [{"name": "RUN", "value": "{{ globals.run_info }}"}],
        "workingDir": "{{ globals.artifacts_path }}",
        "{{ globals.uuid }}": ("key kept", "{{ globals.uuid }}"),
    }
    assert resolve(container, g) == {
        "command": ["python", "train.py"],
        "args": ["--out=/plx-context/artifacts/c0ffee/outputs", "--iter=3", 5],
        "env": [{"name": "RUN", "value": "acme.vision.c0ffee"}],
        "workingDir": "/plx-context/artifacts",
        "{{ globals.uuid }}": ("key kept", "c0ffee"),
    }


def test_format_value():
    assert format_value(True) == "true"
    assert format_value(1.5) == "1.5"
    assert format_value({"b": 1, "a": [1]}) == '{"a":[1],"b":1}'


def test_plain_mapping_works_as_globals():
    assert render("{{ globals.x }}", {"x": 1}) == "1"


# -- params: the Usage section of seed 003 ------------------------------------------------------

USAGE = {
    "param1": {"value": "globals.uuid"},
    "param2": {"ref": "runs.9a8b7c", "value": "globals.uuid"},
    "param3": {"ref": "dag", "value": "globals.uuid"},
    "param4": {"ref": "ops.upstream1", "value": "globals.uuid"},
}


def refs() -> dict:
    return {
        "runs.9a8b7c": RunInfo(uuid="9a8b7c", owner="acme", project="vision",
                               extra={"status": "succeeded", "started_at": "2024-04-30T08:00:00"}),
        "dag": RunInfo(uuid="d4g", owner="acme", project="vision", name="pipeline"),
        "ops.upstream1": compute_globals(RunInfo(uuid="up1"), reference=True),
    }


def test_usage_params_all_differ(g):
    values = resolve_params(USAGE, g, refs())
    assert values == {"param1": "c0ffee", "param2": "9a8b7c", "param3": "d4g", "param4": "up1"}


def test_param1_is_the_current_run_each_time():
    assert resolve_param(USAGE["param1"], compute_globals(RunInfo(uuid="first"))) == "first"
    assert resolve_param(USAGE["param1"], compute_globals(RunInfo(uuid="second"))) == "second"


def test_reference_gives_values_the_user_did_not_know(g):
    assert resolve_param({"ref": "runs.9a8b7c", "value": "globals.started_at"}, g, refs()) == "2024-04-30T08:00:00"
    assert resolve_param({"ref": "runs.9a8b7c", "value": "globals.status"}, g, refs()) == "succeeded"
    assert resolve_param({"ref": "dag", "value": "globals.name"}, g, refs()) == "pipeline"
    assert resolve_param({"ref": "dag", "value": "globals.uuid"}, g, {"dag": {"uuid": "m"}}) == "m"


def test_missing_reference_is_an_error(g):
    with pytest.raises(TemplateError, match=r"param4: the reference 'ops.upstream1' is not available; "
                                            r"known references: runs.9a8b7c, dag"):
        resolve_params(USAGE, g, {k: v for k, v in refs().items() if k != "ops.upstream1"})
    with pytest.raises(TemplateError, match=r"known references: \(none\)"):
        resolve_param(USAGE["param3"], g)


@pytest.mark.parametrize("param, match", [
    ({"ref": "upstream", "value": "globals.uuid"}, "ref must be 'dag', 'runs.UUID' or 'ops.NAME'"),
    ({"ref": "dag", "value": "outputs.loss"}, "only globals.\\* values"),
    ({"ref": "dag", "value": "globals.nope"}, r"param \(ref dag\): unknown variable globals.nope"),
    ({"ref": "dag"}, "a mapping with a 'value'"),
    ({"value": "globals.store_path"}, "param: globals.store_path is not available"),
])
def test_param_errors(g, param, match):
    with pytest.raises(TemplateError, match=match):
        resolve_param(param, g, refs())


def test_literal_params_that_are_not_globals(g):
    assert resolve_param({"value": 0.01}, g) == 0.01
    assert resolve_param({"value": "globals"}, g) == "globals"
    assert resolve_param({"value": "out-{{ globals.uuid }}"}, g) == "out-c0ffee"
    assert resolve_param({"value": ["{{ globals.owner_name }}", 1]}, g) == ["acme", 1]
    assert resolve_param({"value": "globals.cloning_kind"}, compute_globals(RunInfo(uuid="u"))) is None


# -- distributed jobs -----------------------------------------------------------------------------


def test_replica_globals(g):
    worker = replica_globals(g, "worker", 2, connections=["data1"], init=[{"git": {"url": "x"}}])
    assert worker["replica_name"] == "worker-2"
    assert worker["replica_index"] == 2 and worker["replica_role"] == "worker"
    assert worker["connections"] == ["data1"]
    assert worker["init"] == [{"git": {"url": "x"}}]
    assert worker["uuid"] == "c0ffee"
    with pytest.raises(TemplateError, match="only set for a replica"):
        g["replica_name"]
    with pytest.raises(TemplateError, match="non-negative"):
        replica_globals(g, "worker", -1)


def test_distributed_globals_each_replica_its_own(g):
    out = distributed_globals(g, {"master": ReplicaSpec(1, ("data1",)), "worker": ReplicaSpec(2, ("data2", "data-s3")),
                                  "ps": 0})
    assert [r["replica_name"] for r in out["master"]] == ["master-0"]
    assert [r["replica_name"] for r in out["worker"]] == ["worker-0", "worker-1"]
    assert out["ps"] == []
    assert out["master"][0]["connections"] == ["data1"]
    assert out["worker"][1]["connections"] == ["data2", "data-s3"]
    assert render("{{ globals.replica_name }}@{{ globals.uuid }}", out["worker"][1]) == "worker-1@c0ffee"
    with pytest.raises(TemplateError, match="replicas must be >= 0"):
        distributed_globals(g, {"w": ReplicaSpec(-1)})


def test_globals_mapping_protocol(g):
    assert "uuid" in g and "store_path" not in g and "nope" not in g
    assert g.get("store_path", "d") == "d"
    assert dict(g)["uuid"] == "c0ffee"
    assert set(g.known) == set(KNOWN_NAMES)


def test_globals_and_templates_are_stdlib_only():
    import subprocess
    import sys
    from pathlib import Path

    code = "import sys, stores.templates; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml')))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=ROOT)
    assert proc.stdout.strip() == "[]"
