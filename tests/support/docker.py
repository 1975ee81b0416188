"""Docker test helpers: a tiny busybox image made with ``docker import``, cleanup by prefix.

The image is built from the host's busybox-static (``/bin/busybox``) plus applet symlinks, so
no registry is needed. Everything created carries the test prefix and is removed at the end.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

BUSYBOX = "/bin/busybox"
APPLETS = (
    "sh", "sleep", "ip", "ping", "httpd", "wget", "cat", "echo", "ls", "mkdir", "hostname",
    "kill", "true", "env", "ifconfig", "nc", "printf", "wc",
)  # fmt: skip
# busybox as PID 1 ignores SIGTERM; this command stops at once and keeps running otherwise
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]


def have_docker() -> bool:
    if not shutil.which("docker") or not Path(BUSYBOX).exists():
        return False
    return subprocess.run(["docker", "version"], capture_output=True, check=False).returncode == 0


def rootfs_tar(path: Path) -> Path:
    """Write a rootfs tarball: /bin/busybox, applet symlinks, /tmp, /www."""
    with tarfile.open(path, "w") as tar:
        for d in ("bin", "tmp", "www", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, "busybox", 0
            tar.addfile(info)
        page = b"hello from saltmesh\n"
        info = tarfile.TarInfo("www/index.html")
        info.size, info.mtime = len(page), 0
        tar.addfile(info, io.BytesIO(page))
    return path


def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, check=False, timeout=60
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout


def import_image(tar: Path, ref: str) -> str:
    docker("import", str(tar), ref)
    return docker("image", "inspect", "-f", "{{.Id}}", ref).strip()


def containers(prefix: str) -> list[str]:
    """Names of all containers (any state) whose name starts with ``prefix``."""
    out = docker("ps", "-a", "--filter", f"name=^/{prefix}", "--format", "{{.Names}}")
    return sorted(n for n in out.split() if n.startswith(prefix))


def inspect(name: str) -> dict | None:
    proc = subprocess.run(["docker", "inspect", name], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def remove_containers(prefix: str) -> None:
    names = containers(prefix)
    if names:
        docker("rm", "-f", *names, check=False)


def remove_images(prefix: str) -> None:
    out = docker("images", "--format", "{{.Repository}}:{{.Tag}}")
    refs = [r for r in out.split() if r.startswith(prefix)]
    if refs:
        docker("rmi", "-f", *refs, check=False)


def events(since: float, prefix: str, action: str = "create") -> list[str]:
    """Container names with event ``action`` since ``since`` (epoch seconds), by prefix."""
    out = docker(
        "events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.5:.3f}",
        "--filter", "type=container", "--filter", f"event={action}",
        "--format", "{{.Actor.Attributes.name}}",
    )  # fmt: skip
    return sorted(n for n in out.split() if n.startswith(prefix))


def netns_exec(pid: int, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True, check=check
    )
