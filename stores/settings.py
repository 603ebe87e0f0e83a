"""Deployment settings of the containers the renderer adds (tier 0: stdlib only).

Every setting is resolved in one order, written down here once:

1. **explicit**: a keyword of ``load_settings(...)`` (``stores render`` passes its flags here)
   or a field given to ``Settings(...)``;
2. **environment**: the ``STORES_*`` variable of the table below;
3. **default**: the value of the table.

=====================  ============================  ==========================================
setting                variable                      default
=====================  ============================  ==========================================
toolkit_image          ``STORES_TOOLKIT_IMAGE``      ``DEFAULT_TOOLKIT_IMAGE`` (the image that
                                                     runs ``stores``: init containers, sidecar)
image_pull_policy      ``STORES_IMAGE_PULL_POLICY``  ``IfNotPresent``
run_as_user            ``STORES_RUN_AS_USER``        ``65532`` (never 0: they run as non-root)
toolkit_resources      ``STORES_TOOLKIT_RESOURCES``  ``DEFAULT_RESOURCES`` (JSON, init containers
                                                     and, unless ``plugins.sidecar`` says
                                                     otherwise, the sidecar)
kube_version           ``STORES_KUBE_VERSION``       ``1.37`` (``DEFAULT_KUBE_VERSION``, the newest
                                                     validated): the Kubernetes version the pods
                                                     are for; it picks the sidecar mode
sidecar_mode           ``STORES_SIDECAR_MODE``       unset: ``native`` for ``kube_version`` 1.29+,
                                                     else ``container``.  ``native``: an init
                                                     container with ``restartPolicy: Always``,
                                                     which Kubernetes stops once the main
                                                     container ended; ``container``: a classic
                                                     sidecar that exits after its final pass once
                                                     the main container wrote its done file
api_host               ``STORES_API_HOST``           ``http://polyaxon-polyaxon-api:80``
external_api_host      ``STORES_EXTERNAL_API_HOST``  unset (``plugins.externalHost`` needs it)
auth_secret            ``STORES_AUTH_SECRET``        ``polyaxon-run-auth``
auth_token_key         ``STORES_AUTH_TOKEN_KEY``     ``token``
=====================  ============================  ==========================================

``k8s`` never reads the environment: a render is a function of its arguments, and
``load_settings()`` is where the environment comes in.

The log settings of the ``stores`` command (and of anything that calls
``stores.logs.configure``) follow the same order, explicit > environment > default, resolved by
``load_log_settings(...)``; the explicit values are the command's flags:

=================  =========================================  ==============================
setting            explicit / variable                        default
=================  =========================================  ==============================
level              ``-v`` (DEBUG) / ``-q`` (ERROR: only       ``INFO``
                   what ends the command; ``-qq``:
                   CRITICAL); else
                   ``STORES_LOG_LEVEL``, else
                   ``POLYAXON_LOG_LEVEL`` (set by the
                   ``logLevel`` plugin on every container
                   the renderer adds)
format             ``--log-format``; ``STORES_LOG_FORMAT``    ``text`` (``json``: one object
                                                              per line, with a timestamp)
progress_interval  ``--progress-interval``;                   ``15`` seconds between progress
                   ``STORES_PROGRESS_INTERVAL``               lines off a terminal (``0``: none)
=================  =========================================  ==============================

Levels are the names of :mod:`logging` in any case (``WARN`` is ``WARNING``); a bad value is an
error naming where it came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from . import __version__
from .errors import Problem, ValuesError

__all__ = [
    "DEFAULT_TOOLKIT_IMAGE",
    "DEFAULT_RESOURCES",
    "ENV_VARS",
    "PULL_POLICIES",
    "SIDECAR_MODES",
    "DEFAULT_KUBE_VERSION",
    "NATIVE_SIDECAR_VERSION",
    "Settings",
    "check_resources",
    "load_settings",
    "LOG_LEVELS",
    "LOG_FORMATS",
    "LOG_LEVEL_VARS",
    "LogSettings",
    "load_log_settings",
]

#: built from the Dockerfile at the top of the repository; push it where your cluster pulls from
#: and set STORES_TOOLKIT_IMAGE (or --toolkit-image) to that reference
DEFAULT_TOOLKIT_IMAGE = f"plx-stores:{__version__}"
#: enough for ``stores`` moving files with 8 workers of two 8 MiB chunks each
DEFAULT_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"memory": "1Gi"},
}
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
SIDECAR_MODES = ("container", "native")
#: the newest Kubernetes version the rendered objects are validated against
DEFAULT_KUBE_VERSION = "1.37"
#: native sidecars (init containers with ``restartPolicy: Always``): beta and on by default since
NATIVE_SIDECAR_VERSION = (1, 29)
_KUBE_VERSION = re.compile(r"v?1\.([0-9]{1,3})(\.[0-9]+)?")

#: setting -> the environment variable that sets it
ENV_VARS: dict[str, str] = {
    "toolkit_image": "STORES_TOOLKIT_IMAGE",
    "image_pull_policy": "STORES_IMAGE_PULL_POLICY",
    "run_as_user": "STORES_RUN_AS_USER",
    "toolkit_resources": "STORES_TOOLKIT_RESOURCES",
    "kube_version": "STORES_KUBE_VERSION",
    "sidecar_mode": "STORES_SIDECAR_MODE",
    "api_host": "STORES_API_HOST",
    "external_api_host": "STORES_EXTERNAL_API_HOST",
    "auth_secret": "STORES_AUTH_SECRET",
    "auth_token_key": "STORES_AUTH_TOKEN_KEY",
}

_QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
#: a whole URL: no whitespace or control characters anywhere (a trailing newline included)
_HTTP_URL = re.compile(r"https?://[^\s/\x00-\x1f\x7f]+(/[^\s\x00-\x1f\x7f]*)?")
_RESOURCE_NAME = re.compile(r"([a-z0-9.-]+/)?[a-z0-9]([-a-z0-9_.]*[a-z0-9])?")


def _problem(name: str, message: str, where: str) -> ValuesError:
    return ValuesError([Problem(("settings", name), f"{message} (from {where})")])


def check_resources(value: Any, where: str = "settings.toolkit_resources") -> dict[str, dict[str, str]]:
    """``{requests: {name: quantity}, limits: {...}}``; quantities as Kubernetes spells them."""
    if not isinstance(value, Mapping) or not set(value) <= {"requests", "limits"}:
        raise ValueError(f"{where}: expected a mapping with 'requests' and/or 'limits', got {value!r}")
    out: dict[str, dict[str, str]] = {}
    for part in ("requests", "limits"):
        if part not in value:
            continue
        entries = value[part]
        if not isinstance(entries, Mapping):
            raise ValueError(f"{where}.{part}: expected a mapping of resource names to quantities")
        checked: dict[str, str] = {}
        for name, qty in entries.items():
            text = str(qty) if isinstance(qty, (int, float)) and not isinstance(qty, bool) else qty
            if not isinstance(name, str) or not _RESOURCE_NAME.fullmatch(name):
                raise ValueError(f"{where}.{part}: not a resource name: {name!r}")
            if not isinstance(text, str) or not _QUANTITY.fullmatch(text):
                raise ValueError(f"{where}.{part}.{name}: not a Kubernetes quantity: {qty!r}")
            checked[name] = text
        out[part] = dict(sorted(checked.items()))
    return out


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with ``load_settings()`` to take the environment into account."""

    toolkit_image: str = DEFAULT_TOOLKIT_IMAGE
    image_pull_policy: str = "IfNotPresent"
    run_as_user: int = 65532
    toolkit_resources: dict[str, dict[str, str]] = field(default_factory=lambda: check_resources(DEFAULT_RESOURCES))
    kube_version: str = DEFAULT_KUBE_VERSION
    #: None: by ``kube_version`` (:attr:`effective_sidecar_mode`)
    sidecar_mode: str | None = None
    api_host: str = "http://polyaxon-polyaxon-api:80"
    external_api_host: str | None = None
    auth_secret: str = "polyaxon-run-auth"
    auth_token_key: str = "token"

    def __post_init__(self) -> None:
        _check(self, "the caller")

    @property
    def kube_minor(self) -> tuple[int, int]:
        """``kube_version`` as ``(1, minor)``."""
        m = _KUBE_VERSION.fullmatch(self.kube_version)
        assert m is not None  # checked
        return (1, int(m.group(1)))

    @property
    def effective_sidecar_mode(self) -> str:
        """``sidecar_mode``, or when unset: ``native`` from Kubernetes 1.29, else ``container``."""
        if self.sidecar_mode is not None:
            return self.sidecar_mode
        return "native" if self.kube_minor >= NATIVE_SIDECAR_VERSION else "container"


def _check(s: Settings, where: str) -> None:
    if not isinstance(s.toolkit_image, str) or not s.toolkit_image.strip() or any(c.isspace() for c in s.toolkit_image):
        raise _problem("toolkit_image", f"not an image reference: {s.toolkit_image!r}", where)
    if s.image_pull_policy not in PULL_POLICIES:
        raise _problem("image_pull_policy", f"must be one of {', '.join(PULL_POLICIES)}, got {s.image_pull_policy!r}", where)
    if isinstance(s.run_as_user, bool) or not isinstance(s.run_as_user, int) or s.run_as_user < 1:
        raise _problem("run_as_user", f"must be a user id above 0 (the containers run as non-root), got {s.run_as_user!r}", where)
    if not isinstance(s.kube_version, str) or not _KUBE_VERSION.fullmatch(s.kube_version):
        raise _problem("kube_version", f"must be a Kubernetes version such as 1.25 or 1.37, got {s.kube_version!r}", where)
    if s.sidecar_mode is not None and s.sidecar_mode not in SIDECAR_MODES:
        raise _problem("sidecar_mode", f"must be one of {', '.join(SIDECAR_MODES)}, got {s.sidecar_mode!r}", where)
    if s.sidecar_mode == "native" and s.kube_minor < NATIVE_SIDECAR_VERSION:
        raise _problem("sidecar_mode", f"native sidecars need Kubernetes 1.29 or later (kube_version is "
                       f"{s.kube_version}); use container, whose sidecar ends after the main container's "
                       "done file", where)
    for name in ("api_host", "external_api_host"):
        value = getattr(s, name)
        if value is not None and not _HTTP_URL.fullmatch(str(value)):
            raise _problem(name, f"must be an http(s) URL, got {value!r}", where)
    for name in ("auth_secret", "auth_token_key"):
        if not isinstance(getattr(s, name), str) or not getattr(s, name):
            raise _problem(name, "must be a non-empty string", where)
    try:
        object.__setattr__(s, "toolkit_resources", check_resources(s.toolkit_resources))
    except ValueError as exc:
        raise _problem("toolkit_resources", str(exc), where) from None


def _from_env(name: str, raw: str) -> Any:
    var = ENV_VARS[name]
    if name == "run_as_user":
        try:
            return int(raw)
        except ValueError:
            raise _problem(name, f"must be an integer, got {raw!r}", f"${var}") from None
    if name == "toolkit_resources":
        from .reader import load_json

        return load_json(raw, what="", error=lambda m: _problem(name, m.strip(), f"${var}"))
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **explicit: Any) -> Settings:
    """Settings from explicit keywords (``None`` means "not given"), else the environment, else
    the defaults.  An unknown keyword is a ``TypeError``; a bad value a ``ValuesError`` naming the
    setting and where it came from."""
    env = os.environ if environ is None else environ
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(explicit) - known)
    if unknown:
        raise TypeError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name in ENV_VARS:
        if explicit.get(name) is not None:
            values[name], origin[name] = explicit[name], "the caller"
        elif env.get(ENV_VARS[name]):
            values[name], origin[name] = _from_env(name, env[ENV_VARS[name]]), f"${ENV_VARS[name]}"
    settings = Settings()
    for name, value in values.items():
        # one field at a time, so an error names where the bad value came from
        try:
            settings = replace(settings, **{name: value})
        except ValuesError as exc:
            problem = exc.problems[0]
            raise ValuesError([Problem(problem.path, problem.message.replace("(from the caller)", f"(from {origin[name]})"))]) from None
    return settings


# -- log settings ----------------------------------------------------------------------------------

#: the level names, lowest first (the numbers of :mod:`logging`, without importing it)
LOG_LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LOG_FORMATS = ("text", "json")
#: the variables that set the level, the first set one wins
LOG_LEVEL_VARS = ("STORES_LOG_LEVEL", "POLYAXON_LOG_LEVEL")
ENV_LOG_FORMAT = "STORES_LOG_FORMAT"
ENV_PROGRESS_INTERVAL = "STORES_PROGRESS_INTERVAL"
DEFAULT_PROGRESS_INTERVAL = 15.0


@dataclass(frozen=True)
class LogSettings:
    """Resolved log settings; ``level`` is a :mod:`logging` level number."""

    level: int = LOG_LEVELS["INFO"]
    format: str = "text"
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL
    #: where each setting came from ("the caller", "$STORES_LOG_LEVEL", "default")
    origin: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def level_name(self) -> str:
        return next((n for n, v in LOG_LEVELS.items() if v == self.level), str(self.level))


def _level(raw: Any, where: str) -> int:
    text = str(raw).strip().upper()
    text = "WARNING" if text == "WARN" else text
    if text in LOG_LEVELS:
        return LOG_LEVELS[text]
    if text.isdigit():
        return int(text)
    raise _problem("log_level", f"must be one of {', '.join(LOG_LEVELS)}, got {raw!r}", where)


def load_log_settings(environ: Mapping[str, str] | None = None, *, verbosity: int | None = None,
                      level: str | int | None = None, log_format: str | None = None,
                      progress_interval: float | None = None) -> LogSettings:
    """Log settings from explicit values (``None``: not given), else the environment, else the
    defaults.  ``verbosity`` is the ``-v`` count minus the ``-q`` count: above 0 DEBUG, -1 ERROR
    (quiet: only what ends the command), below that CRITICAL; 0 or ``None``: not given."""
    env = os.environ if environ is None else environ
    origin: dict[str, str] = {}
    if level is not None:
        lvl, origin["level"] = _level(level, "the caller"), "the caller"
    elif verbosity:
        lvl = LOG_LEVELS["DEBUG"] if verbosity > 0 else LOG_LEVELS["ERROR"] if verbosity == -1 else LOG_LEVELS["CRITICAL"]
        origin["level"] = "-v/-q"
    else:
        var = next((v for v in LOG_LEVEL_VARS if env.get(v, "").strip()), None)
        lvl = _level(env[var], f"${var}") if var else LOG_LEVELS["INFO"]
        origin["level"] = f"${var}" if var else "default"
    fmt, origin["format"] = ((log_format, "the caller") if log_format is not None
                             else (env[ENV_LOG_FORMAT].strip().lower(), f"${ENV_LOG_FORMAT}") if env.get(ENV_LOG_FORMAT, "").strip()
                             else ("text", "default"))
    if fmt not in LOG_FORMATS:
        raise _problem("log_format", f"must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}", origin["format"])
    if progress_interval is not None:
        interval, origin["progress_interval"] = progress_interval, "the caller"
    elif env.get(ENV_PROGRESS_INTERVAL, "").strip():
        origin["progress_interval"] = f"${ENV_PROGRESS_INTERVAL}"
        try:
            interval = float(env[ENV_PROGRESS_INTERVAL])
        except ValueError:
            raise _problem("progress_interval", f"must be a number of seconds, got {env[ENV_PROGRESS_INTERVAL]!r}",
                           origin["progress_interval"]) from None
    else:
        interval, origin["progress_interval"] = DEFAULT_PROGRESS_INTERVAL, "default"
    if not interval >= 0:  # NaN too
        raise _problem("progress_interval", f"must be 0 (off) or a positive number of seconds, got {interval!r}",
                       origin["progress_interval"])
    return LogSettings(lvl, fmt, float(interval), origin)
