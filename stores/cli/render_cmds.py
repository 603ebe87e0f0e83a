"""``stores render`` and ``stores secret``: the Kubernetes commands.

Their handlers import ``k8s`` (and with it ``kubernetes.client``) only when run, so
``stores --help`` does not pay for it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from .output import add_output_flag, json_object_arg, print_data
from .values_input import add_run_flags, add_values_argument, add_values_flags, load_catalog, run_uuid

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "render",
        help="render the pod-spec patch of a run (or patch a manifest with it)",
        description="Render volumes, mounts, env and envFrom for a run's selected stores, plus the "
        "env contract, as a pod-template patch; with --into, apply it to a workload manifest (Pod, "
        "Job, Deployment, StatefulSet, DaemonSet, ReplicaSet, CronJob, Kubeflow training jobs, JobSet, "
        "Ray, Argo workflows); with --post-renderer, patch every workload of a multi-document stream "
        "(helm's --post-renderer contract). Objects to create beside the pod (the PersistentVolume and "
        "claim of a bucket mounted through a CSI driver that takes only static provisioning) follow as "
        "extra documents. Without --run-uuid the uuid is "
        "derived from owner, project and name, so the output is the same every time.",
    )
    add_values_argument(p, "values", "VALUES")
    add_values_flags(p)
    add_run_flags(p)
    p.add_argument("--namespace", default=None, help="the run's namespace (globals.namespace)")
    p.add_argument("--into", default=None, metavar="MANIFEST", help="a manifest file to patch ('-': standard input)")
    p.add_argument("--container", default=None,
                   help="main container of --into / --post-renderer (default: the kind's usual one, else the first)")
    p.add_argument("--post-renderer", action="store_true",
                   help="read a multi-document stream (standard input, or --into FILE), write it to standard "
                   "output with every workload patched and everything else byte for byte (helm --post-renderer)")
    p.add_argument("--only-annotated", action="store_true",
                   help="with --post-renderer: patch only the workloads annotated plx-stores/connections "
                   "(which also names the data stores each one mounts)")
    p.add_argument("--allow-host-path", action="append", default=[], metavar="PATH",
                   help="let this exact hostPath past the deny list (repeatable)")
    p.add_argument("--gcs-default", default=None, metavar="NAME",
                   help="the GCS connection whose key is GOOGLE_APPLICATION_CREDENTIALS")
    p.add_argument("--validate", default=None, metavar="VERSION",
                   help="validate the output strictly against this Kubernetes version (e.g. 1.30)")
    p.add_argument("--service-accounts", action="store_true",
                   help="also print the ServiceAccount the connections' workload identity needs, annotated "
                   "for the cloud (YAML: an extra document after the patch; JSON: a list of both)")
    _plugin_flags(p)
    add_output_flag(p, "yaml")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser(
        "secret",
        help="print the Secret holding a bucket key file (kubectl create secret generic ...)",
        description="Check a key file for its store (s3: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; "
        "gcs: a service-account key; azure: AZURE_ACCOUNT_NAME + AZURE_ACCOUNT_KEY or "
        "AZURE_CONNECTION_STRING) and print the Secret that `kubectl create secret generic NAME "
        "--from-file=key.json=PATH` makes.",
    )
    p.add_argument("name", metavar="NAME", help="the Secret's name")
    p.add_argument("--store", required=True, choices=["s3", "gcs", "azure", "wasb"],
                   help="the kind of bucket the key file is for")
    p.add_argument("--from-file", required=True, metavar="[KEY=]PATH",
                   help="the key file; stored under KEY (default: key.json)")
    p.add_argument("--namespace", "-n", default=None, help="the Secret's namespace (default: none, kubectl's current one)")
    add_output_flag(p, "yaml")
    p.set_defaults(func=cmd_secret)


#: flag dest -> (plugin key, value to set); a flag left unset changes nothing
_PLUGIN_FLAGS: dict[str, tuple[str, ...]] = {
    "shm": ("shm",),
    "docker": ("docker",),
    "auth": ("auth",),
    "mount_artifacts_store": ("mountArtifactsStore",),
    "collect": ("collectArtifacts", "collectLogs"),
    "collect_resources": ("collectResources",),
    "auto_resume": ("autoResume",),
    "external_host": ("externalHost",),
    "log_level": ("logLevel",),
}
#: flag dest -> setting (stores.settings): explicit flags beat STORES_* variables
_SETTING_FLAGS = ("toolkit_image", "kube_version", "sidecar_mode", "api_host", "external_api_host", "auth_secret")


def _plugin_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "plugins (the utilities a run gets besides its stores: /dev/shm, auth, artifacts collection, ...)",
        "Without any of these the patch has no plugins; with any, the plugin defaults apply (see "
        "the plugins reference) and the flags override them (--plugins first, then the other flags).",
    )
    g.add_argument("--plugins", default=None, metavar="FILE|JSON",
                   help="a `plugins:` section as written in a polyaxonfile: a file ('-': standard input) "
                   "or inline JSON/YAML")
    onoff = argparse.BooleanOptionalAction
    g.add_argument("--shm", action=onoff, default=None, help="/dev/shm as a memory emptyDir (default on)")
    g.add_argument("--shm-size", default=None, metavar="QTY", help="sizeLimit of /dev/shm, e.g. 2Gi")
    g.add_argument("--docker", action=onoff, default=None, help="mount the host's docker socket (default off)")
    g.add_argument("--auth", action=onoff, default=None, help="POLYAXON_AUTH_TOKEN from the auth Secret (default on)")
    g.add_argument("--mount-artifacts-store", action=onoff, default=None,
                   help="mount the artifacts store on the main container (default off)")
    g.add_argument("--collect", action=onoff, default=None,
                   help="collectArtifacts and collectLogs: context volume, init container, sidecar (default on)")
    g.add_argument("--collect-resources", action=onoff, default=None,
                   help="POLYAXON_COLLECT_RESOURCES: the run reports its resource usage (default on)")
    g.add_argument("--auto-resume", action=onoff, default=None,
                   help="with --collect: an init container restores what an earlier attempt synced (default on)")
    g.add_argument("--external-host", action=onoff, default=None, help="give the run the external API host")
    g.add_argument("--log-level", default=None, metavar="LEVEL", help="POLYAXON_LOG_LEVEL of every container")
    g.add_argument("--sync-interval", type=int, default=None, metavar="N", help="seconds between sidecar syncs")
    g.add_argument("--download-data", action="append", default=[], metavar="NAME[:PREFIX][=PATH]",
                   help="copy a selected bucket data store (or a prefix) to /plx-context/data/NAME (or PATH) "
                   "in an init container (repeatable)")
    s = p.add_argument_group("settings (a flag wins over its STORES_* environment variable, which wins over the default)")
    s.add_argument("--toolkit-image", default=None, metavar="IMAGE", help="image of the init and sidecar containers")
    s.add_argument("--kube-version", default=None, metavar="VERSION",
                   help="the Kubernetes version the pod is for (default 1.37, the newest validated); from 1.29 "
                   "the sidecar is native, before it a classic one that ends after the main container's done file")
    s.add_argument("--sidecar-mode", default=None, choices=["container", "native"],
                   help="override the mode --kube-version picks: native (an init container with restartPolicy "
                   "Always, Kubernetes 1.29+) or container")
    s.add_argument("--api-host", default=None, metavar="URL", help="the API the run's containers talk to")
    s.add_argument("--external-api-host", default=None, metavar="URL",
                   help="the API host given to the run with --external-host")
    s.add_argument("--auth-secret", default=None, metavar="NAME",
                   help="the Secret holding the run's auth token (--auth)")


def _one_stdin(args: argparse.Namespace) -> None:
    """Standard input can be read once: by one of VALUES/-f, --into and --plugins."""
    from ..errors import StoresError

    stream = args.post_renderer and args.into in (None, "-")
    readers = [flag for flag, given in (("-f", "-" in [args.values, *args.values_files]),
                                        ("--post-renderer" if stream else "--into", args.into == "-" or stream),
                                        ("--plugins", args.plugins == "-")) if given]
    if len(readers) > 1:
        raise StoresError(f"standard input ('-') can be read once; {' and '.join(readers)} both ask for it")


def _plugins_doc(args: argparse.Namespace) -> dict[str, Any] | None:
    """The plugins mapping the flags ask for, or ``None`` when no plugin option was given."""
    from ..plugins import parse_plugins
    from ..yamlsrc import load_yaml

    doc: dict[str, Any] | None = None
    if args.plugins is not None:
        text = args.plugins
        inline = text.lstrip().startswith("{")
        where = "--plugins" if inline else text
        # YAML is a superset of JSON: one depth-limited loader (stores.yamlsrc) for both spellings
        loaded, _ = load_yaml(text if inline else _read(text, "plugins file"), file=where)
        doc = parse_plugins(loaded, file=where).model_dump(by_alias=True, exclude_unset=True)
    for dest, keys in _PLUGIN_FLAGS.items():
        value = getattr(args, dest)
        if value is not None:
            doc = doc if doc is not None else {}
            for key in keys:
                doc[key] = value
    if args.shm_size is not None:
        doc = doc if doc is not None else {}
        shm = doc.get("shm")
        shm = dict(shm) if isinstance(shm, dict) else ({"enabled": shm} if isinstance(shm, bool) else {})
        doc["shm"] = {**shm, "sizeLimit": args.shm_size}
    if args.sync_interval is not None:
        doc = doc if doc is not None else {}
        doc["sidecar"] = {**(doc.get("sidecar") or {}), "syncInterval": args.sync_interval}
    return doc


def _read(path: str, what: str) -> bytes:
    """A file given on the command line ('-': stdin), through stores.reader: regular files (or
    the stdin pipe) only, at most stores.reader.MAX_BYTES."""
    from ..errors import ManifestError
    from ..reader import read_file, read_stdin

    def error(message: str) -> ManifestError:
        return ManifestError(f"{'standard input' if path == '-' else path}: {message}")

    if path == "-":
        return read_stdin(what=what, error=error)
    return read_file(path, what=what, error=error)


def _load_manifest(path: str) -> dict[str, Any]:
    from ..errors import ManifestError
    from ..yamlsrc import load_yaml_documents

    where = "standard input" if path == "-" else path
    docs = [d for d in load_yaml_documents(_read(path, "manifest"), file=where) if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ManifestError(f"{where}: expected exactly one manifest (a mapping), found {len(docs)} document(s)")
    return docs[0]


def cmd_render(args: argparse.Namespace) -> int:
    from ..errors import RenderError

    render = _renderer(args)
    if args.post_renderer:
        return _post_render(args, render)
    if args.only_annotated:
        raise RenderError("--only-annotated goes with --post-renderer")
    _print_rendered(args, render())
    return 0


def _renderer(args: argparse.Namespace) -> Callable[..., Any]:
    """What the flags ask for, checked once: a function rendering the patch of one selection
    (``None``: the flags' own), which the post-renderer calls once per distinct selection."""
    from k8s.plugins import download_data
    from k8s.render import render_patch

    from ..contract.runinfo import RunInfo
    from ..errors import RenderError
    from ..plugins import DataDownload, parse_plugins
    from ..selection import RunRequest
    from ..settings import load_settings

    inputs = json_object_arg(args.inputs, "--inputs")
    _one_stdin(args)
    catalog = load_catalog(args, [args.values] if args.values else [], allow_host_paths=args.allow_host_path)
    try:
        run = RunInfo(uuid=run_uuid(args), owner=args.owner, project=args.project, name=args.name,
                      namespace=args.namespace)
    except ValueError as exc:
        raise RenderError(str(exc)) from None
    plugins_doc = _plugins_doc(args)
    plugins = parse_plugins(plugins_doc, file="the plugin flags") if plugins_doc is not None else None
    settings = load_settings(**{name: getattr(args, name) for name in _SETTING_FLAGS})
    try:
        downloads = [DataDownload.parse(d) for d in args.download_data]
    except ValueError as exc:
        raise RenderError(f"--download-data: {exc}") from None

    def render(data: tuple[str, ...] | None = None, outputs: str | None = None) -> Any:
        request = RunRequest(data if data is not None else (tuple(args.data) if args.data is not None else None),
                             outputs if outputs is not None else args.outputs)
        return render_patch(
            catalog,
            request,
            run,
            inputs=inputs,
            allow_host_paths=args.allow_host_path,
            sdk_defaults={"gcs": args.gcs_default} if args.gcs_default else None,
            plugins=plugins,
            settings=settings,
            extensions=[download_data(downloads)] if downloads else (),
        )

    return render


def _print_rendered(args: argparse.Namespace, patch: Any) -> None:
    """The patch (or ``--into``'s manifest with it), then the objects to create beside the pod:
    a CSI driver's static PersistentVolume and claim, and with ``--service-accounts`` the
    ServiceAccount the workload identities run as.  YAML: one document each; JSON: one list."""
    from k8s.apply import apply_patch
    from k8s.validate import validate_manifest, wrap_patch

    if args.into is not None:
        out = apply_patch(_load_manifest(args.into), patch, args.container)
        checked = out
    else:
        out = patch.to_dict()
        checked = wrap_patch(out)
    objects = patch.object_dicts() + (patch.service_account_manifests(args.namespace) if args.service_accounts else [])
    if args.validate:
        validate_manifest(checked, args.validate)
        for obj in objects:
            validate_manifest(obj, args.validate)
    if not objects:
        print_data(out, args.output)
    elif args.output == "json":
        print_data([out, *objects], args.output)
    else:
        print_data(out, args.output)
        for obj in objects:
            sys.stdout.write("---\n")
            print_data(obj, args.output)


#: a rendered chart is bigger than a values file: the stream's own read limit
STREAM_MAX_BYTES = 64 * 1024 * 1024


def _post_render(args: argparse.Namespace, render: Any) -> int:
    from k8s.postrender import post_render
    from k8s.validate import validate_manifest
    from k8s.workloads import WORKLOADS

    from ..errors import ManifestError
    from ..reader import read_file, read_stdin

    path = args.into or "-"
    where = "standard input" if path == "-" else path

    def error(message: str) -> ManifestError:
        return ManifestError(f"{where}: {message}")

    raw = (read_stdin(what="manifest stream", limit=STREAM_MAX_BYTES, error=error) if path == "-"
           else read_file(path, what="manifest stream", limit=STREAM_MAX_BYTES, error=error))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error("is not UTF-8 text") from None
    patched: list[dict[str, Any]] = []
    out = post_render(text, render, select="annotated" if args.only_annotated else "all",
                      container=args.container, file=where, patched=patched)
    if args.validate:
        for doc in patched:
            if WORKLOADS[doc["kind"]].group in ("", "batch", "apps"):  # the kinds with a Kubernetes schema
                validate_manifest(doc, args.validate)
    sys.stdout.write(out)
    return 0


def cmd_secret(args: argparse.Namespace) -> int:
    from k8s.secrets import secret_from_file
    from k8s.serialize import dump

    from ..legacy import KEY_FILE

    key, sep, path = args.from_file.partition("=")
    if not sep:
        key, path = KEY_FILE, args.from_file
    secret = secret_from_file(args.name, args.store, path, namespace=args.namespace, key=key)
    print_data(dump(secret), args.output)
    return 0
