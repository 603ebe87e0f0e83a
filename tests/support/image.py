"""Run a rendered pod's toolkit containers in the toolkit image, on this machine, without a
container runtime.

``toolkit_image()`` builds the image with ``scripts/build-image.sh`` (a no-op when the image is up
to date with the checkout), creates a buildah working container from it and mounts its root
filesystem (the container's own copy: the runtime's writable layer, where mount points are made).

``Pod`` lays out a rendered patch's volumes as the kubelet would (each emptyDir a directory with
mode 0777, each Secret a directory holding its items) and runs one of the patch's containers:

- exactly its ``command`` and ``args`` (else the image's entrypoint and cmd) and its literal env
  on top of the image's env (PATH, ...), in the image's working directory;
- in a private mount namespace (``unshare --mount``): the image's root filesystem bound read-only
  when ``readOnlyRootFilesystem``, each of the container's ``volumeMounts`` bound at its
  ``mountPath`` (Secrets and ``readOnly`` mounts read-only), ``/proc``, ``/dev``, ``/etc/hosts``
  and ``/etc/resolv.conf`` from the host;
- ``chroot --userspec=<runAsUser>:<runAsGroup>``: the rendered UID and GID, no capabilities
  (a non-root process after setuid has none); the host network (the emulators are on 127.0.0.1).

Not emulated: seccomp, resource limits, the pid namespace. The process started is the
container's own (``unshare`` and ``chroot`` exec it), so a signal sent to it is the kubelet's.

``Pod.host_argv_env`` gives the same container's command for the venv's ``stores`` on the host
(paths under a mountPath re-rooted to the volume's directory, key files through
``STORES_SECRETS_ROOT``): the "outside the container" side of the figures.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-image.sh"
BUILDAH = ["buildah", "--storage-driver", os.environ.get("STORES_BUILDAH_STORAGE_DRIVER", "vfs")]
#: the pip of Debian bookworm (python3-pip / python-pip-whl 23.0.1): what the debootstrap-based
#: image installs with, and the oldest pip the extras must resolve quickly with
BOOKWORM_PIP = "23.0.1"


def version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def image_name() -> str:
    return f"plx-stores:{version()}"


def cannot_run_buildah() -> str | None:
    """Why buildah cannot run here (then the image tests are skipped), or None."""
    if sys.platform != "linux":
        return f"buildah runs on Linux only (this is {sys.platform})"
    if os.geteuid() != 0:
        return "buildah's chroot isolation, the vfs driver and the tests' mount namespaces need root here"
    if shutil.which("buildah") is None and shutil.which("apt-get") is None:
        return "buildah is not installed and there is no apt-get to install it"
    if shutil.which("unshare") is None or shutil.which("chroot") is None:
        return "unshare and chroot (util-linux, coreutils) are needed to run the containers"
    return None


def buildah(*args: str, timeout: float = 300) -> str:
    out = subprocess.run([*BUILDAH, *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"buildah {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout.strip()


@dataclass
class Image:
    name: str
    rootfs: Path
    config: dict[str, Any]
    build_output: str = ""

    @property
    def env(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.config.get("Env") or [])

    @property
    def labels(self) -> dict[str, str]:
        return self.config.get("Labels") or {}


def build_image(rebuild: bool = False) -> str:
    """``scripts/build-image.sh`` (its stderr and stdout: the steps, the size)."""
    cmd = ["bash", str(BUILD_SCRIPT), "--engine", "buildah"] + (["--rebuild"] if rebuild else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"scripts/build-image.sh failed ({out.returncode}):\n{out.stderr[-4000:]}{out.stdout[-2000:]}")
    return out.stderr + out.stdout


def toolkit_image() -> Iterator[Image]:
    """Build (when needed), then a working container of the image, mounted; removed at the end."""
    output = build_image()
    name = image_name()
    config = json.loads(buildah("inspect", "--type", "image", name))["OCIv1"]["config"]
    ctr = buildah("from", "--pull=false", "--name", f"plx-stores-test-{os.getpid()}", name)
    try:
        rootfs = Path(buildah("mount", ctr))
        yield Image(name, rootfs, config, output)
    finally:
        subprocess.run([*BUILDAH, "umount", ctr], capture_output=True)
        subprocess.run([*BUILDAH, "rm", ctr], capture_output=True)


def rendered_container(patch: dict[str, Any], name: str) -> dict[str, Any]:
    """A container of the patch by name; a name ending in '-' is a prefix (the download init
    containers end in a hash)."""
    spec = patch["spec"]
    for c in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        if c["name"] == name or (name.endswith("-") and c["name"].startswith(name)):
            return c
    raise KeyError(f"no container {name!r} in the patch")


@dataclass
class Pod:
    """A rendered patch's volumes under ``root``; ``secrets``: Secret name -> {key: bytes}."""

    patch: dict[str, Any]
    image: Image
    root: Path
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)
    dirs: dict[str, Path] = field(default_factory=dict)

    @property
    def volumes(self) -> dict[str, dict[str, Any]]:
        return {v["name"]: v for v in self.patch["spec"].get("volumes", [])}

    def volume_dir(self, name: str) -> Path:
        """The directory behind the pod's volume ``name`` (made on first use)."""
        if name in self.dirs:
            return self.dirs[name]
        volume = self.volumes[name]
        path = self.root / "volumes" / name
        path.mkdir(parents=True)
        if "emptyDir" in volume:
            os.chmod(path, 0o777)  # the kubelet's emptyDir mode
        elif "secret" in volume:
            data = self.secrets[volume["secret"]["secretName"]]
            items = volume["secret"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                target = path / item["path"]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data[item["key"]])
                os.chmod(target, volume["secret"].get("defaultMode", 0o644))
        else:
            raise NotImplementedError(f"volume {name}: only emptyDir and secret volumes are laid out here")
        self.dirs[name] = path
        return path

    def mount_dir(self, container: dict[str, Any], mount_path: str) -> Path:
        """The host directory the container sees at ``mount_path``."""
        for m in container.get("volumeMounts", []):
            if m["mountPath"] == mount_path:
                return self.volume_dir(m["name"])
        raise KeyError(f"{container['name']} mounts nothing at {mount_path}")

    # ---- the container's process --------------------------------------------------------------

    def argv(self, container: dict[str, Any]) -> list[str]:
        """What the runtime executes: command + args, else the image's entrypoint + cmd."""
        if "command" in container:
            return [*container["command"], *container.get("args", [])]
        entry = self.image.config.get("Entrypoint") or []
        return [*entry, *(container.get("args") if "args" in container else self.image.config.get("Cmd") or [])]

    def env(self, container: dict[str, Any]) -> dict[str, str]:
        literal = [v for v in container.get("env", []) if "value" in v]
        assert len(literal) == len(container.get("env", [])), "only literal env values are laid out here"
        assert not container.get("envFrom"), "envFrom is not laid out here"
        return {**self.image.env, **{v["name"]: v["value"] for v in literal}}

    def user(self, container: dict[str, Any]) -> tuple[int, int]:
        sc = container.get("securityContext") or {}
        pod_sc = self.patch["spec"].get("securityContext") or {}
        image_user = str(self.image.config.get("User") or "0")
        uid_s, _, gid_s = image_user.partition(":")
        uid = sc.get("runAsUser", pod_sc.get("runAsUser", int(uid_s)))
        gid = sc.get("runAsGroup", pod_sc.get("runAsGroup", int(gid_s or 0)))
        return uid, gid

    def command(self, container: dict[str, Any], argv: list[str] | None = None) -> list[str]:
        """``unshare ... sh -c '<mounts>; exec chroot ... env -i <env> <argv>'`` for ``container``
        (``argv`` replaces its command: only for probing the sandbox itself)."""
        rootfs = self.image.rootfs
        newroot = Path(tempfile.mkdtemp(prefix="newroot-", dir=self.root))
        sc = container.get("securityContext") or {}
        q = shlex.quote
        lines = ["set -e", f"mount --bind {q(str(rootfs))} {q(str(newroot))}"]
        if sc.get("readOnlyRootFilesystem"):
            lines.append(f"mount -o remount,bind,ro {q(str(newroot))}")
        lines += [f"mount -t proc proc {q(str(newroot / 'proc'))}", f"mount --rbind /dev {q(str(newroot / 'dev'))}"]
        for f in ("/etc/hosts", "/etc/resolv.conf"):
            if os.path.exists(f):
                target = rootfs / f.lstrip("/")
                if not target.exists() and not target.is_symlink():
                    target.touch()
                if target.is_file() and not target.is_symlink():
                    lines += [f"mount --bind {f} {q(str(newroot / f.lstrip('/')))}",
                              f"mount -o remount,bind,ro {q(str(newroot / f.lstrip('/')))}"]
        for m in container.get("volumeMounts", []):
            assert not m.get("subPath"), "subPath mounts are not laid out here"
            source = self.volume_dir(m["name"])
            (rootfs / m["mountPath"].lstrip("/")).mkdir(parents=True, exist_ok=True)  # the runtime's mount point
            target = q(str(newroot / m["mountPath"].lstrip("/")))
            lines.append(f"mount --bind {q(str(source))} {target}")
            if m.get("readOnly") or "secret" in self.volumes[m["name"]]:
                lines.append(f"mount -o remount,bind,ro {target}")
        uid, gid = self.user(container)
        workdir = self.image.config.get("WorkingDir") or "/"
        env = [f"{k}={v}" for k, v in self.env(container).items()]
        cd = [] if workdir == "/" else ["/bin/sh", "-c", 'cd "$0" && exec "$@"', workdir]  # chroot's cwd is /
        inner = ["chroot", f"--userspec={uid}:{gid}", f"--groups={gid}", str(newroot), *cd,
                 "/usr/bin/env", "-i", *env, *(argv if argv is not None else self.argv(container))]
        lines.append("exec " + " ".join(q(a) for a in inner))
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)]

    def popen(self, container: dict[str, Any], argv: list[str] | None = None, **kw: Any) -> subprocess.Popen:
        return subprocess.Popen(self.command(container, argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, **kw)

    def run(self, container: dict[str, Any], argv: list[str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(container, argv), capture_output=True, text=True, timeout=timeout)

    # ---- the same container's command on the host (the venv's stores) -------------------------

    def host_argv_env(self, container: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
        """The container's argv and env for the venv's ``stores`` on this machine: arguments under a
        mountPath re-rooted to the volume's directory, key files read through ``STORES_SECRETS_ROOT``
        (a tree of symlinks: <root>/<mountPath> -> the Secret's directory)."""
        mounts = sorted(container.get("volumeMounts", []), key=lambda m: -len(m["mountPath"]))
        secrets_root = Path(tempfile.mkdtemp(prefix="secrets-root-", dir=self.root))
        for m in mounts:
            if "secret" in self.volumes[m["name"]]:
                link = secrets_root / m["mountPath"].lstrip("/")
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(self.volume_dir(m["name"]))

        def local(arg: str) -> str:
            for m in mounts:
                mp = m["mountPath"].rstrip("/")
                if arg == mp or arg.startswith(mp + "/"):
                    return str(self.volume_dir(m["name"])) + arg[len(mp):]
            return arg

        argv = self.argv(container)
        assert argv[0] == "stores"
        env = {k: local(v) if k in ("HOME", "TMPDIR") else v for k, v in self.env(container).items()
               if k not in self.image.env}
        env.update(PATH=os.environ.get("PATH", ""), STORES_SECRETS_ROOT=str(secrets_root))
        return [str(Path(sys.executable).parent / "stores"), *map(local, argv[1:])], env
