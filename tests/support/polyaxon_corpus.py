"""The good values corpora: Polyaxon's own files (``tests/data/polyaxon``, its README says where
each comes from), the ones we refuse and why, and the repository's example values files."""

from __future__ import annotations

from support.paths import DATA, EXAMPLES, ROOT

__all__ = ["CORPUS", "EXAMPLE_VALUES", "GOOD_CORPUS", "ITEM_FILES", "REFUSED", "VALUES_FILES"]

CORPUS = DATA / "polyaxon"

#: fixture file (relative to the corpus) -> what our refusal says
_NOT_A_BUCKET = "URL for store"
_BAD_SECRET_NAME = "a Kubernetes resource name must be a DNS-1123 subdomain"
REFUSED: dict[str, str] = {
    "fixtures/test_compiler.test_lineage.test_lineage_resolver-1.yaml": _NOT_A_BUCKET,
    "fixtures/test_compiler.test_resolvers.test_core_resolver-1.yaml": _NOT_A_BUCKET,
    "fixtures/test_runner.test_base_converter-1.yaml": "not a valid Azure container name 'x'",
    "fixtures/test_runner.test_base_converter-2.yaml": _NOT_A_BUCKET,
    **{
        f"fixtures/{engine}.test_converters.test_base.{name}.yaml": reason
        for engine in ("test_docker", "test_k8s")
        for name, reason in {
            "test_init.test_init_outputs-1": _NOT_A_BUCKET,
            "test_init.test_init_store-1": _NOT_A_BUCKET,
            "test_init.test_init_store-2": _NOT_A_BUCKET,
            "test_init.test_init_tensorboard-1": _NOT_A_BUCKET,
            "test_main.test_main_container-1": _BAD_SECRET_NAME,
            "test_main.test_main_container-2": _NOT_A_BUCKET,
            "test_main.test_main_env_vars-1": _BAD_SECRET_NAME,
            "test_main.test_main_env_vars-2": _BAD_SECRET_NAME,
            "test_main.test_main_mounts-1": _BAD_SECRET_NAME,
            "test_mounts-1": _NOT_A_BUCKET,
        }.items()
    },
    "fixtures/test_k8s.test_converters.test_base.test_sidecar.test_sidecar_container-1.yaml": _NOT_A_BUCKET,
    "fixtures/test_k8s.test_converters.test_base.test_sidecar.test_sidecar_container-2.yaml": _NOT_A_BUCKET,
    "fixtures/test_k8s.test_converters.test_base.test_sidecar.test_sidecar_container-3.yaml": _NOT_A_BUCKET,
    "fixtures/test_k8s.test_converters.test_common.test_annotations-1.yaml": _NOT_A_BUCKET,
    "fixtures/test_k8s.test_converters.test_common.test_volumes-1.yaml": _NOT_A_BUCKET,
    "fixtures/test_k8s.test_converters.test_pods.test_volumes-1.yaml": _BAD_SECRET_NAME,
    "fixtures/test_k8s.test_converters.test_pods.test_volumes-2.yaml": _BAD_SECRET_NAME,
    "fixtures/test_k8s.test_converters.test_pods.test_volumes-3.yaml": _BAD_SECRET_NAME,
    "fixtures/test_k8s.test_converters.test_pods.test_volumes-4.yaml": _BAD_SECRET_NAME,
}

VALUES_FILES = sorted(
    p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml") and "connection-items" not in p.parts
)
ITEM_FILES = sorted((CORPUS / "docs" / "connection-items").glob("*.yaml"))

#: every values file the repository ships as an example
EXAMPLE_VALUES = [
    EXAMPLES / "seed-004-values.yaml",
    EXAMPLES / "legacy-defaults-values.yaml",
    EXAMPLES / "current-values.yaml",
    EXAMPLES / "helm-chart" / "values.yaml",
    EXAMPLES / "helm-app-chart" / "values.yaml",
    ROOT / "stores" / "examples" / "default-values.yaml",
]
#: the corpus files that load: what every renderer must render alike
GOOD_CORPUS = [p for p in VALUES_FILES if not p.name.endswith(".invalid.yaml") and str(p.relative_to(CORPUS)) not in REFUSED]
