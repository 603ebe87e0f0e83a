"""``kubernetes.client`` without ``kubernetes/__init__.py`` (the models the renderer builds).

``kubernetes/__init__.py`` imports ``kubernetes.config`` (google-auth, requests-oauthlib,
cryptography, ...), ``dynamic``, ``watch``, ``stream``, ``leaderelection`` and ``informer``:
about a second of a cold ``stores render``, none of it needed to build ``V1Volume`` and friends.
``kubernetes.client`` itself (v37) exports its models lazily and is cheap; older clients (the
``k8s`` extra allows 19.15 on) import every model there, which is slower but works the same.

So, when ``kubernetes`` is not imported yet, this module registers the ``kubernetes`` package
module *without running its ``__init__``*: the real spec, ``__path__`` and ``__file__`` (so
``import kubernetes.client`` and every submodule import work as usual), and a module class whose
``__getattr__`` runs the real ``__init__`` the first time anyone asks for a name it does not
have yet (``kubernetes.config``, ``kubernetes.__version__``, ``from kubernetes import watch``).
A later ``import kubernetes`` in the same process therefore sees the complete package.  When
``kubernetes`` is already imported, or its spec cannot be found, the normal import is used.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import TYPE_CHECKING

__all__ = ["client"]

if TYPE_CHECKING:  # the type checker sees the real models; at run time __getattr__ below serves them
    from kubernetes.client import (
        V1Capabilities as V1Capabilities,
        V1CSIVolumeSource as V1CSIVolumeSource,
        V1ConfigMapEnvSource as V1ConfigMapEnvSource,
        V1ConfigMapKeySelector as V1ConfigMapKeySelector,
        V1ConfigMapVolumeSource as V1ConfigMapVolumeSource,
        V1Container as V1Container,
        V1EmptyDirVolumeSource as V1EmptyDirVolumeSource,
        V1EnvFromSource as V1EnvFromSource,
        V1EnvVar as V1EnvVar,
        V1EnvVarSource as V1EnvVarSource,
        V1HostPathVolumeSource as V1HostPathVolumeSource,
        V1KeyToPath as V1KeyToPath,
        V1ObjectMeta as V1ObjectMeta,
        V1PersistentVolumeClaimVolumeSource as V1PersistentVolumeClaimVolumeSource,
        V1ProjectedVolumeSource as V1ProjectedVolumeSource,
        V1ResourceRequirements as V1ResourceRequirements,
        V1SeccompProfile as V1SeccompProfile,
        V1Secret as V1Secret,
        V1SecretEnvSource as V1SecretEnvSource,
        V1SecretKeySelector as V1SecretKeySelector,
        V1SecretVolumeSource as V1SecretVolumeSource,
        V1SecurityContext as V1SecurityContext,
        V1ServiceAccountTokenProjection as V1ServiceAccountTokenProjection,
        V1Volume as V1Volume,
        V1VolumeMount as V1VolumeMount,
        V1VolumeProjection as V1VolumeProjection,
    )

_lock = threading.RLock()


class _DeferredPackage(types.ModuleType):
    """The ``kubernetes`` package before its ``__init__`` ran; runs it on the first missing name."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__") and name.endswith("__") and name not in ("__version__", "__project__", "__all__"):
            raise AttributeError(name)  # probes such as __wrapped__ or __getstate__
        with _lock:
            if type(self) is _DeferredPackage:
                # run the real __init__ exactly once (setattr: mypy refuses a plain module class here)
                setattr(self, "__class__", types.ModuleType)
                try:
                    self.__spec__.loader.exec_module(self)  # type: ignore[union-attr]
                except BaseException:
                    sys.modules.pop(self.__name__, None)
                    raise
        return object.__getattribute__(self, name)


def _light_kubernetes() -> None:
    with _lock:
        if "kubernetes" in sys.modules:
            return
        spec = importlib.util.find_spec("kubernetes")
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return  # let the normal import raise its usual error
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _DeferredPackage
        sys.modules["kubernetes"] = module


_light_kubernetes()

client = importlib.import_module("kubernetes.client")  # only client/__init__.py runs; models are lazy


def __getattr__(name: str) -> object:
    """``from k8s._client import V1Volume``: any model of ``kubernetes.client``."""
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(client, name)
    globals()[name] = value
    return value
