"""A Debian 12 "box": systemd as PID 1 in a Docker container, with Salt and nagios4 inside.

What the real-systemd paths (``systemctl reload``/``start``, ``service.running``) are tested
on, where the machine itself has no systemd as PID 1. Built offline from Debian packages:

1. ``mmdebstrap`` makes a minbase Debian 12 root file system with systemd and the packages of
   :data:`PACKAGES`; ``docker import`` turns it into an image;
2. Salt's wheels are downloaded (and sdists built into wheels) on this machine, copied into a
   container of that image and installed into ``/opt/salt`` with ``--no-index``; the container
   is committed as the box image.

The image is tagged by a hash of everything that goes into it (:func:`image_tag`), so it is
built once per machine and reused until the recipe changes. The project's own code is not in
the image: each test copies a fresh wheel of it in (``pip wheel --no-deps .``).

Use from the command line (as root)::

    python -m tests.support.systemd_box build     # build the image unless it exists
    python -m tests.support.systemd_box shell     # a throwaway box with a shell in it
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

SUITE = "bookworm"
# nagios4-core, not nagios4: the daemon, Debian's unit and object templates without apache2
PACKAGES = (
    "systemd", "systemd-sysv", "dbus", "python3", "python3-venv", "python3-requests",
    "procps", "iproute2", "nagios4-core",
)  # fmt: skip
SALT = "salt==3008.3"  # the Makefile's SALT_VERSION
PIP_PACKAGES = (SALT, "pyyaml")
RECIPE_VERSION = 1  # bump when the build steps below change
REPOSITORY = "saltmesh-systemd-box"


def image_tag() -> str:
    """``saltmesh-systemd-box:<hash of the recipe>``."""
    recipe = json.dumps([SUITE, PACKAGES, PIP_PACKAGES, RECIPE_VERSION, sys.version_info[:2]])
    return f"{REPOSITORY}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"


def have_tools() -> str | None:
    """None when the box can be built and run here, else why not."""
    for tool in ("docker", "mmdebstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return "the Docker daemon does not answer"
    if not Path("/sys/fs/cgroup").is_dir():
        return "no cgroup file system at /sys/fs/cgroup"
    return None


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if out.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])}... failed ({out.returncode}): {out.stderr[-2000:]}"
        )
    return out


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def _wheels(dest: Path) -> None:
    """Salt and its dependencies as wheels for this Python (the box's is the same minor)."""
    _run([sys.executable, "-m", "pip", "download", "-q", "-d", str(dest), *PIP_PACKAGES])
    for sdist in dest.glob("*.tar.gz"):
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), str(sdist)])
        sdist.unlink()


def build_image(tag: str | None = None, log=print) -> str:
    """Build the box image unless it exists; returns its tag."""
    tag = tag or image_tag()
    if image_exists(tag):
        return tag
    work = Path(tempfile.mkdtemp(prefix="saltmesh-box-build-"))
    base = f"{REPOSITORY}-rootfs:{tag.split(':')[1]}"
    name = f"saltmesh-box-build-{uuid.uuid4().hex[:8]}"
    try:
        started = time.monotonic()
        _run(
            ["mmdebstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
             str(work / "rootfs.tar")],
        )  # fmt: skip
        _run(["docker", "import", "--change", 'CMD ["/lib/systemd/systemd"]',
              str(work / "rootfs.tar"), base])  # fmt: skip
        (work / "rootfs.tar").unlink()
        log(f"systemd box: root file system in {time.monotonic() - started:.0f} s")
        _wheels(work / "wheels")
        _run(
            ["docker", "run", "-d", "--name", name, "--network", "none", base, "sleep", "infinity"]
        )
        _run(["docker", "cp", str(work / "wheels"), f"{name}:/tmp/wheels"])
        _run(["docker", "exec", name, "sh", "-c",
              "python3 -m venv /opt/salt && /opt/salt/bin/pip install -q --no-index "
              f"--find-links /tmp/wheels {' '.join(PIP_PACKAGES)} && rm -rf /tmp/wheels"])  # fmt: skip
        _run(["docker", "commit", "--change", 'CMD ["/lib/systemd/systemd"]', name, tag])
        _prune(keep=tag)
        log(f"systemd box: image {tag} in {time.monotonic() - started:.0f} s")
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", base], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return tag


def _prune(keep: str) -> None:
    """Remove the box images of other (older) recipes."""
    listed = _run(["docker", "images", "--filter", f"reference={REPOSITORY}:*",
                   "--format", "{{.Repository}}:{{.Tag}}"]).stdout.split()  # fmt: skip
    for old in listed:
        if old != keep:
            subprocess.run(["docker", "rmi", old], capture_output=True)


class Box:
    """One running container of the box image: systemd as PID 1, ``/opt/salt`` inside."""

    def __init__(self, tag: str, name: str | None = None):
        self.tag = tag
        self.name = name or f"saltmesh-box-{uuid.uuid4().hex[:8]}"

    def start(self, timeout: float = 60) -> Box:
        # no --privileged: systemd runs with a read-only cgroup mount and tmpfs /run
        _run(["docker", "run", "-d", "--name", self.name, "--network", "none",
              "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp",
              "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro", "--cgroupns", "host",
              self.tag, "/lib/systemd/systemd"])  # fmt: skip
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.sh("systemctl is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return self
            time.sleep(0.5)
        raise RuntimeError(f"systemd in {self.name} did not come up: {state!r}")

    def exec(
        self, *argv: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        out = subprocess.run(
            ["docker", "exec", self.name, *argv], capture_output=True, text=True, timeout=timeout
        )
        if check and out.returncode != 0:
            raise RuntimeError(
                f"{argv} in {self.name}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
            )
        return out

    def sh(self, script: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.exec("sh", "-c", script, check=check)

    def put(self, src: Path, dest: str) -> None:
        _run(["docker", "cp", str(src), f"{self.name}:{dest}"])

    def write(self, path: str, text: str, mode: str = "0644") -> None:
        with tempfile.NamedTemporaryFile("w", delete=False) as fh:
            fh.write(text)
        try:
            self.sh(f"mkdir -p $(dirname {path})")
            self.put(Path(fh.name), path)
            self.exec("chmod", mode, path)
        finally:
            Path(fh.name).unlink()

    def read(self, path: str) -> str:
        return self.exec("cat", path).stdout

    def show(self, unit: str, prop: str) -> str:
        return self.exec("systemctl", "show", f"--property={prop}", "--value", unit).stdout.strip()

    def stop(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["build"]:
        print(build_image())
        return 0
    if argv[:1] == ["shell"]:
        box = Box(build_image()).start()
        try:
            return subprocess.call(["docker", "exec", "-it", box.name, "bash"])
        finally:
            box.stop()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
