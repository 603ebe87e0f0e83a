"""``PodPatch``: what a run adds to a pod, each item with where it came from (tier 1).

A patch is built by ``k8s.render.render_patch`` and may then be extended — by plugins (shm,
docker socket, artifacts-store mount), init containers and sidecars (collect*) — through the
``add_*`` methods, before the checks run.  ``to_dict()`` runs every check of ``k8s.checks`` and
gives a pod-template patch::

    metadata: {annotations: {...}, labels: {...}}
    spec:
      serviceAccountName: <the identity's ServiceAccount, when a connection has one>
      containers: [{name: <main>, volumeMounts, env, envFrom}, *sidecars]
      initContainers: [...]
      volumes: [...]

Output order is fixed: volumes by name, mounts by path, env by name, envFrom by (kind, name),
annotations by key; init containers and sidecars in the order they were added (their order
means something to Kubernetes).  Identical env / envFrom entries from several sources are
written once; different ones for one name are a ``RenderError``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, TypeVar

from stores.errors import RenderError

from ._client import V1Container, V1EnvFromSource, V1EnvVar, V1Volume, V1VolumeMount
from .gcpause import gc_paused
from .naming import VolumeNamer
from .checks import ContainerView, EnvRecord, HostPathPolicy, MountRecord, PodView, check_pod, normalise_path
from .serialize import dump, load
from .templates import Resolver, resolve_container, resolve_env_var

__all__ = ["Sourced", "PodPatch", "DEFAULT_CONTAINER", "Extension", "container_view"]

T = TypeVar("T")

#: the main container's name in a patch printed on its own (``apply_patch`` picks the user's)
DEFAULT_CONTAINER = "main"


#: an item of a ``Sourced.spelled`` entry before anything asked for its client model
_UNBUILT: Any = object()


class Sourced(Generic[T]):
    """One item and who asked for it (``"connection 'data1'"``, ``"plugin 'shm'"``, ...): the
    checks name the source of both sides of a clash.  The builders of ``k8s.env`` return their
    env vars and envFrom sources as these too.

    ``Sourced.spelled(cls, manifest, source)``: an item the renderer wrote in manifest spelling
    from values its own models validated (a connection's volume, mount, env var).  Its client
    model is built, by validating that spelling, only when something reads ``item``: a
    render makes thousands of them, and each construction validates every field and fills every
    unset one (some thirty for a volume), which cost more than the rest of the render.  The
    output is written from ``manifest``, which is what the model's own spelling would be
    (tests/k8s/test_render_spelled.py compares the two on both client generations).
    """

    __slots__ = ("_item", "source", "_spelling", "_cls")

    def __init__(self, item: T, source: str, _spelling: dict[str, Any] | None = None,
                 _cls: type[T] | None = None) -> None:
        self._item = item
        self.source = source
        self._spelling = _spelling
        self._cls = _cls

    @classmethod
    def spelled(cls, model: type[T], manifest: dict[str, Any], source: str) -> Sourced[T]:
        """An entry of ``model`` given in manifest spelling (camelCase keys in the client's
        field order, no null fields), its values already validated by our own models."""
        return cls(_UNBUILT, source, manifest, model)

    @property
    def item(self) -> T:
        if self._item is _UNBUILT:
            assert self._cls is not None and self._spelling is not None  # set together (spelled)
            self._item = load(self._cls, self._spelling)
        return self._item

    @property
    def manifest(self) -> Any:
        """The item in manifest spelling, to read (never edit: it may be the kept one).  Once
        the client model exists, its own spelling: an edit made there shows."""
        if self._item is _UNBUILT:
            return self._spelling
        return dump(self._item)

    def manifest_copy(self) -> Any:
        """``manifest`` as the output's own objects (a caller may edit what it is given)."""
        spelling = self._spelling
        if self._item is _UNBUILT and spelling is not None:
            return _copy(spelling)
        return dump(self._item)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sourced):
            return NotImplemented
        return (self.manifest, self.source) == (other.manifest, other.source)

    def __hash__(self) -> int:
        return hash((self.item, self.source))  # as the frozen dataclass did (client models have none)

    def __repr__(self) -> str:
        return f"Sourced(item={self.manifest!r}, source={self.source!r})"


def _copy(spelling: dict[str, Any]) -> dict[str, Any]:
    # a spelling is dicts and lists of scalars (JSON's shapes), copied down to the scalars; the
    # types are tested inline, not by a call per value: most values are strings
    out = spelling.copy()
    for key, value in out.items():
        kind = type(value)
        if kind is dict:
            out[key] = _copy(value)
        elif kind is list:
            out[key] = [_copy(v) if type(v) is dict else v for v in value]
    return out


@dataclass
class PodPatch:
    container_name: str = DEFAULT_CONTAINER
    volumes: list[Sourced[V1Volume]] = field(default_factory=list)
    #: mounts, env and envFrom of the main container
    volume_mounts: list[Sourced[V1VolumeMount]] = field(default_factory=list)
    env: list[Sourced[V1EnvVar]] = field(default_factory=list)
    env_from: list[Sourced[V1EnvFromSource]] = field(default_factory=list)
    #: (key, value) pod annotations
    annotations: list[Sourced[tuple[str, str]]] = field(default_factory=list)
    #: (key, value) pod labels (workload identity: Azure's ``azure.workload.identity/use``)
    labels: list[Sourced[tuple[str, str]]] = field(default_factory=list)
    #: the pod's ``serviceAccountName`` (workload identity), ``None``: the manifest's / namespace default
    service_account: Sourced[str] | None = None
    #: annotations of that ServiceAccount (``key -> Sourced(value)``) and whether to emit it
    service_account_annotations: dict[str, Sourced[str]] = field(default_factory=dict)
    create_service_account: bool = False
    #: a dict for a native sidecar on a client older than 28 (no restartPolicy field; k8s.collect)
    init_containers: list[Sourced[V1Container | dict[str, Any]]] = field(default_factory=list)
    sidecars: list[Sourced[V1Container]] = field(default_factory=list)
    #: objects to create beside the pod (a CSI driver's static PersistentVolume and claim), as
    #: manifest dicts; ``stores render`` prints them as extra documents
    objects: list[Sourced[dict[str, Any]]] = field(default_factory=list)
    #: host path -> who allowed it past the deny list (see ``k8s.checks.HostPathPolicy``)
    allowed_host_paths: dict[str, str] = field(default_factory=dict)
    #: resolves ``{{ globals.x }}`` in commands, args and env values; ``None``: leave them
    resolve: Resolver | None = None
    #: what the patch was rendered from, for extensions to read (``Selection``, ``RunInfo``, ...)
    context: dict[str, Any] = field(default_factory=dict)
    #: a classic sidecar waits for this file: ``k8s.apply`` wraps the main container's command so
    #: that it is written when the command ends (see ``k8s.collect``); None: nothing to signal
    main_done_file: str | None = None
    #: ``_fingerprint()`` when the checks last passed: ``to_dict()`` re-checks only if the patch
    #: gained, lost or swapped an item since (items are meant to be added, not edited in place)
    _checked: tuple[Any, ...] | None = field(default=None, repr=False, compare=False)
    #: the main container's env dicts those checks looked at (``env_dicts()``), for ``to_dict()``
    _checked_env: list[tuple[dict[str, Any], str]] | None = field(default=None, repr=False, compare=False)
    #: names every volume of the pod (``k8s.naming.VolumeNamer``), shared by whatever adds one
    namer: VolumeNamer = field(default_factory=VolumeNamer, repr=False, compare=False)
    #: volume name -> the entry defining it, to add one volume once however many ask for it
    _volume_defs: dict[str, Sourced[V1Volume]] = field(default_factory=dict, repr=False, compare=False)
    _mount_keys: set[tuple[Any, ...]] = field(default_factory=set, repr=False, compare=False)

    # -- extension points --------------------------------------------------------------------

    def add_volume(self, volume: V1Volume, source: str) -> None:
        """A pod volume; the very same volume (name and definition) asked for again is added
        once (several connections sharing one secret); a different one under a taken name is
        still added, and the checks then name both sources."""
        self.add_volume_entry(Sourced(volume, source))

    def add_volume_entry(self, entry: Sourced[V1Volume]) -> None:
        """``add_volume`` of an entry (``Sourced.spelled`` ones are never built as models)."""
        spelling = entry.manifest
        have = self._volume_defs.get(spelling["name"])
        if have is None:
            self._volume_defs[spelling["name"]] = entry
        elif have.manifest == spelling:
            return
        self.volumes.append(entry)

    def has_volume(self, name: str) -> bool:
        return name in self._volume_defs

    def add_mount(self, mount: V1VolumeMount, source: str) -> None:
        """A mount on the main container; the very same mount again is added once."""
        self.add_mount_entry(Sourced(mount, source))

    def add_mount_entry(self, entry: Sourced[V1VolumeMount]) -> None:
        spelling = entry.manifest
        key = (spelling["name"], spelling["mountPath"], spelling.get("readOnly"), spelling.get("subPath"))
        if key in self._mount_keys:
            return
        self._mount_keys.add(key)
        self.volume_mounts.append(entry)

    def add_env(self, var: V1EnvVar, source: str) -> None:
        self.env.append(Sourced(var, source))

    def add_env_entries(self, entries: Iterable[Sourced[V1EnvVar]]) -> None:
        """Env vars as the ``k8s.env`` builders return them (their models never built)."""
        self.env.extend(entries)

    def add_env_from(self, env_from: V1EnvFromSource, source: str) -> None:
        self.env_from.append(Sourced(env_from, source))

    def add_env_from_entries(self, entries: Iterable[Sourced[V1EnvFromSource]]) -> None:
        self.env_from.extend(entries)

    def add_annotation(self, key: str, value: str, source: str) -> None:
        self.annotations.append(Sourced((key, value), source))

    def add_object(self, obj: dict[str, Any], source: str) -> None:
        """An object to create beside the pod (a manifest dict); the very same object again is
        added once, a different one of the same kind, namespace and name is a ``RenderError``."""
        key = _object_key(obj)
        for entry in self.objects:
            if _object_key(entry.item) == key:
                if entry.item == obj:
                    return
                raise RenderError(f"two different {key[0]} objects named {key[2]!r}: from {entry.source} "
                                  f"and from {source}")
        self.objects.append(Sourced(obj, source))

    def add_label(self, key: str, value: str, source: str) -> None:
        """A pod label; one key with two values is a ``RenderError`` naming both sources."""
        for entry in self.labels:
            if entry.item[0] == key:
                if entry.item[1] != value:
                    raise RenderError(f"pod label {key}: {entry.source} sets {entry.item[1]!r}, {source} sets {value!r}")
                return
        self.labels.append(Sourced((key, value), source))

    def set_service_account(self, name: str, source: str, annotations: dict[str, str] | None = None,
                            create: bool = True) -> None:
        """The pod's ServiceAccount (workload identity).  A pod runs as one: another name, or
        the same one annotated differently (two roles), is a ``RenderError`` naming both."""
        have = self.service_account
        if have is not None and have.item != name:
            raise RenderError(
                f"conflicting service accounts: {have.source} runs as {have.item!r}, {source} as {name!r}; "
                "a pod has one ServiceAccount: give these connections the same identity.serviceAccount "
                "(one ServiceAccount may hold several clouds' annotations) or select them in different runs"
            )
        if have is None:
            self.service_account = Sourced(name, source)
        for key, value in (annotations or {}).items():
            prior = self.service_account_annotations.get(key)
            if prior is not None and prior.item != value:
                raise RenderError(
                    f"ServiceAccount {name!r} annotation {key}: {prior.source} wants {prior.item!r}, "
                    f"{source} wants {value!r}; one ServiceAccount holds one role per cloud"
                )
            if prior is None:
                self.service_account_annotations[key] = Sourced(value, source)
        self.create_service_account = self.create_service_account or create

    def service_account_manifests(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The ServiceAccount the identities need (``[]`` when none, or every one says
        ``create: false``), annotated for the clouds: what ``stores render --service-accounts``
        prints as an extra YAML document."""
        if self.service_account is None or not self.create_service_account:
            return []
        meta: dict[str, Any] = {"name": self.service_account.item}
        if namespace:
            meta["namespace"] = namespace
        annotations = {k: v.item for k, v in sorted(self.service_account_annotations.items())}
        if annotations:
            meta["annotations"] = annotations
        return [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}]

    def label_dict(self) -> dict[str, str]:
        return dict(sorted(entry.item for entry in self.labels))

    def add_init_container(self, container: V1Container | dict[str, Any], source: str) -> None:
        """Runs before the user's init containers, in the order added."""
        self.init_containers.append(Sourced(container, source))

    def add_sidecar(self, container: V1Container, source: str) -> None:
        """Runs next to the main container, after the user's containers, in the order added."""
        self.sidecars.append(Sourced(container, source))

    def allow_host_path(self, path: str, by: str) -> None:
        """Let one exact host path past the deny list (e.g. the docker plugin's socket)."""
        self.allowed_host_paths[normalise_path(path)] = by

    @property
    def policy(self) -> HostPathPolicy:
        return HostPathPolicy(allowed=dict(self.allowed_host_paths))

    # -- output ------------------------------------------------------------------------------

    def env_dicts(self) -> list[tuple[dict[str, Any], str]]:
        """Main-container env in manifest spelling, templates resolved, with sources."""
        return [(resolve_env_var(entry.manifest_copy(), self.resolve), entry.source) for entry in self.env]

    def _containers(self, entries: Iterable[Sourced[Any]]) -> list[tuple[dict[str, Any], str]]:
        return [(resolve_container(dump(e.item), self.resolve), e.source) for e in entries]

    def view(
        self,
        template: dict[str, Any] | None = None,
        main_index: int | None = None,
        env: list[tuple[dict[str, Any], str]] | None = None,
    ) -> PodView:
        """The records the checks look at: this patch, merged into ``template`` (a pod template
        dict: ``{metadata, spec}``) when given, the patch's main container going into the
        template's container ``main_index``.  ``env``: ``env_dicts()`` if already computed."""
        env = self.env_dicts() if env is None else env
        main_mounts = [MountRecord(m["name"], m["mountPath"], e.source) for e in self.volume_mounts for m in (e.manifest,)]
        main_env = [EnvRecord(v["name"], v, s) for v, s in env]
        view = PodView(policy=self.policy)
        spec = (template or {}).get("spec") or {}
        meta = (template or {}).get("metadata") or {}
        for key, value in (meta.get("annotations") or {}).items():
            view.annotations.append((key, value, "the manifest"))
        for vol in spec.get("volumes") or []:
            view.volumes.append((vol.get("name"), "the manifest"))
        # init containers: ours run first, so they are listed first
        for container, source in self._containers(self.init_containers):
            view.containers.append(container_view(container, "init container", source))
        for container in spec.get("initContainers") or []:
            view.containers.append(container_view(container, "init container", "the manifest"))
        if template is None:
            view.containers.append(ContainerView(self.container_name, "main container", main_mounts, main_env))
        else:
            for i, container in enumerate(spec.get("containers") or []):
                if i == main_index:
                    cv = container_view(container, "main container", "the manifest")
                    cv.mounts.extend(main_mounts)
                    cv.env.extend(main_env)
                else:
                    cv = container_view(container, "container", "the manifest")
                view.containers.append(cv)
        for container, source in self._containers(self.sidecars):
            view.containers.append(container_view(container, "sidecar", source))
        for entry in self.volumes:
            volume = entry.manifest
            view.volumes.append((volume["name"], entry.source))
            if "hostPath" in volume:
                view.host_paths.append((volume["hostPath"]["path"], volume["name"], entry.source))
        for note in self.annotations:
            key, value = note.item
            view.annotations.append((key, value, note.source))
        return view

    def _fingerprint(self) -> tuple[Any, ...]:
        lists = (self.volumes, self.volume_mounts, self.env, self.env_from, self.annotations,
                 self.init_containers, self.sidecars)
        return (
            self.container_name,
            id(self.resolve),
            tuple(sorted(self.allowed_host_paths.items())),
            *(tuple(map(id, items)) for items in lists),
        )

    def check(self, env: list[tuple[dict[str, Any], str]] | None = None) -> None:
        """Every check of ``k8s.checks`` on the patch alone; raises ``RenderError``."""
        env = self.env_dicts() if env is None else env
        check_pod(self.view(env=env))
        self._checked = self._fingerprint()
        self._checked_env = env

    def main_container(self, env_dicts: list[tuple[dict[str, Any], str]] | None = None) -> dict[str, Any]:
        """``volumeMounts``, ``env`` and ``envFrom`` for the main container, sorted, each
        identical entry once (call after the checks: they reject different ones)."""
        mounts = sorted((m.manifest_copy() for m in self.volume_mounts), key=_mount_order)
        env_dicts = self.env_dicts() if env_dicts is None else env_dicts
        env = _unique(sorted((v for v, _ in env_dicts), key=_by_name), key=_by_name)
        env_from = _unique(sorted((e.manifest_copy() for e in self.env_from), key=_env_from_key), key=_env_from_key)
        out: dict[str, Any] = {}
        if mounts:
            out["volumeMounts"] = mounts
        if env:
            out["env"] = env
        if env_from:
            out["envFrom"] = env_from
        return out

    def volume_dicts(self) -> list[dict[str, Any]]:
        return sorted((v.manifest_copy() for v in self.volumes), key=_by_name)

    def annotation_dict(self) -> dict[str, str]:
        return dict(sorted(entry.item for entry in self.annotations))

    def object_dicts(self) -> list[dict[str, Any]]:
        """The objects to create beside the pod, in the order added (a PV before its claim)."""
        return [dict(entry.item) for entry in self.objects]

    def init_container_dicts(self) -> list[dict[str, Any]]:
        return [c for c, _ in self._containers(self.init_containers)]

    def sidecar_dicts(self) -> list[dict[str, Any]]:
        return [c for c, _ in self._containers(self.sidecars)]

    @gc_paused
    def to_dict(self) -> dict[str, Any]:
        """The checked pod-template patch (see the module docstring)."""
        # the env the checks passed on, when nothing was added since (render_patch checks before
        # returning): taken once, so no two outputs share dicts a caller might edit
        env, self._checked_env = self._checked_env, None
        if env is None or self._checked != self._fingerprint():
            env = self.env_dicts()
            self.check(env)
            self._checked_env = None
        spec: dict[str, Any] = {
            "containers": [{"name": self.container_name, **self.main_container(env)}, *self.sidecar_dicts()]
        }
        init = self.init_container_dicts()
        if init:
            spec["initContainers"] = init
        volumes = self.volume_dicts()
        if volumes:
            spec["volumes"] = volumes
        if self.service_account is not None:
            spec = {"serviceAccountName": self.service_account.item, **spec}
        out: dict[str, Any] = {}
        annotations = self.annotation_dict()
        labels = self.label_dict()
        if annotations or labels:
            out["metadata"] = {**({"annotations": annotations} if annotations else {}),
                               **({"labels": labels} if labels else {})}
        out["spec"] = spec
        return out


#: what a plugin is: a function that adds to a patch before the checks run
Extension = Callable[[PodPatch], None]


def container_view(container: dict[str, Any], role: str, source: str) -> ContainerView:
    """Check records of one container dict (the manifest's or a plugin's)."""
    name = container.get("name", "?")
    label = f"{source}" if source != "the manifest" else f"the manifest's container {name!r}"
    mounts = [MountRecord(m.get("name"), m.get("mountPath", ""), label) for m in container.get("volumeMounts") or []]
    env = [EnvRecord(v.get("name"), v, label) for v in container.get("env") or []]
    return ContainerView(name, role, mounts, env)


def _object_key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", "")


def _env_from_key(source: dict[str, Any]) -> tuple[str, str, str]:
    kind = "configMapRef" if "configMapRef" in source else "secretRef"
    return kind, (source.get(kind) or {}).get("name", ""), source.get("prefix", "")


#: sort keys of the output's lists (C-level getters: a render sorts thousands of entries)
_by_name = operator.itemgetter("name")
_mount_order = operator.itemgetter("mountPath", "name")

#: equal to no key (``_unique``'s "no entry yet")
_NO_KEY: Any = object()


def _unique(items: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    """Drop entries equal to an earlier one with the same key (``items`` sorted by ``key``)."""
    out: list[Any] = []
    last: Any = _NO_KEY
    for item in items:
        this = key(item)
        if this == last and out[-1] == item:
            continue
        out.append(item)
        last = this
    return out
