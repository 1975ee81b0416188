"""Docker test helpers: a tiny busybox image made with ``docker import``, cleanup by prefix.

The image is built from the host's busybox-static (``/bin/busybox``) plus applet symlinks, so
no registry is needed. Everything created carries the test prefix and is removed at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
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


def _cli(host: str | None) -> list[str]:
    """The docker CLI, talking to the engine at ``host`` (None: the machine's dockerd)."""
    return ["docker", "-H", host] if host else ["docker"]


def docker(*args: str, check: bool = True, host: str | None = None) -> str:
    proc = subprocess.run(
        [*_cli(host), *args], capture_output=True, text=True, check=False, timeout=60
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {proc.stderr}")
    return proc.stdout


def import_image(tar: Path, ref: str, host: str | None = None) -> str:
    docker("import", str(tar), ref, host=host)
    return docker("image", "inspect", "-f", "{{.Id}}", ref, host=host).strip()


def containers(prefix: str, host: str | None = None) -> list[str]:
    """Names of all containers (any state) whose name starts with ``prefix``."""
    out = docker("ps", "-a", "--filter", f"name=^/{prefix}", "--format", "{{.Names}}", host=host)
    return sorted(n for n in out.split() if n.startswith(prefix))


def inspect(name: str, host: str | None = None) -> dict | None:
    proc = subprocess.run(
        [*_cli(host), "inspect", "--type", "container", name],
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def remove_containers(prefix: str, host: str | None = None) -> None:
    names = containers(prefix, host)
    if names:
        docker("rm", "-f", *names, check=False, host=host)


def remove_images(prefix: str) -> None:
    out = docker("images", "--format", "{{.Repository}}:{{.Tag}}")
    refs = [r for r in out.split() if r.startswith(prefix)]
    if refs:
        docker("rmi", "-f", *refs, check=False)


def events(since: float, prefix: str, action: str = "create", host: str | None = None) -> list[str]:
    """Container names with event ``action`` since ``since`` (epoch seconds), by prefix."""
    out = docker(
        "events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.5:.3f}",
        "--filter", "type=container", "--filter", f"event={action}",
        "--format", "{{.Actor.Attributes.name}}", host=host,
    )  # fmt: skip
    return sorted(n for n in out.split() if n.startswith(prefix))


def timeline(since: float, names: set[str], host: str | None = None) -> list[tuple[int, str, str]]:
    """``(timeNano, action, name)`` of every container event of ``names`` since ``since``."""
    out = docker(
        "events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.5:.3f}",
        "--filter", "type=container", "--format", "{{json .}}", host=host,
    )  # fmt: skip
    rows = []
    for line in out.splitlines():
        event = json.loads(line)
        name = (event.get("Actor") or {}).get("Attributes", {}).get("name")
        if name in names:
            rows.append((int(event["timeNano"]), event["Action"], name))
    return sorted(rows)


def all_events(since: float, prefix: str, host: str | None = None) -> list[str]:
    """Every event (any type) since ``since`` whose actor's name or image mentions ``prefix``."""
    out = docker(
        "events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.5:.3f}",
        "--format", "{{json .}}", host=host,
    )  # fmt: skip
    found = []
    for line in out.splitlines():
        event = json.loads(line)
        attrs = (event.get("Actor") or {}).get("Attributes") or {}
        text = " ".join([event.get("id") or "", *map(str, attrs.values())])
        if prefix in text:
            found.append(f"{event.get('Type')} {event.get('Action')} {attrs.get('name', '')}")
    return found


class PrivateDockerd:
    """A dockerd of the tests' own: its own data root, exec root, pidfile, socket and network
    namespace.

    The machine's dockerd runs without live-restore, so restarting it would kill every
    container on it, those of other test sessions included. Fault tests restart this one
    instead; the states reach it through the minion option ``saltmesh:docker_url``. It runs in
    a network namespace of its own: a dockerd started with ``--bridge none`` deletes any
    ``docker0`` it sees, and the machine's dockerd needs its own.
    """

    def __init__(self, tag: str, workdir: Path):
        self.tag = tag
        self.data_root = Path("/var/lib") / tag  # overlay2 needs a real filesystem
        self.exec_root = Path("/run") / tag
        self.sock = f"/run/{tag}.sock"
        self.pidfile = Path(f"/run/{tag}.pid")
        self.workdir = workdir
        self.log = workdir / "dockerd.log"
        self.slow = workdir / "slow-creates"  # while it exists, runtime creates take 3 s
        self.config = workdir / "daemon.json"
        self.config.write_text(json.dumps(self._runtime(workdir / "runc")) + "\n")
        self.netns = tag
        self.proc: subprocess.Popen | None = None

    def _runtime(self, wrapper: Path) -> dict:
        """The default runtime: runc, slowed down on request (:meth:`slow_creates`)."""
        wrapper.write_text(
            "#!/bin/sh\n"
            f'for a; do [ "$a" = create ] && [ -e {self.slow} ] && touch {self.slow}.hit && sleep 3; done\n'
            'exec runc "$@"\n'
        )
        wrapper.chmod(0o755)
        return {"runtimes": {"smt-runc": {"path": str(wrapper)}}, "default-runtime": "smt-runc"}

    @contextlib.contextmanager
    def slow_creates(self):
        """Containers started meanwhile spend 3 s in their runtime's ``create`` (a window in which
        to kill dockerd while it starts one); yields the file that says one is in it."""
        hit = Path(f"{self.slow}.hit")
        hit.unlink(missing_ok=True)
        self.slow.touch()
        try:
            yield hit
        finally:
            self.slow.unlink()
            hit.unlink(missing_ok=True)

    @property
    def url(self) -> str:
        return f"unix://{self.sock}"

    def argv(self) -> list[str]:
        return [
            "nsenter", f"--net=/run/netns/{self.netns}",  # the network namespace only
            "dockerd", "--config-file", str(self.config),
            "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
            "--pidfile", str(self.pidfile), "-H", self.url,
            "--bridge", "none", "--iptables=false", "--ip-masq=false",
            "--cgroup-parent", f"/{self.tag}", "--shutdown-timeout", "3",
        ]  # fmt: skip

    def docker(self, *args: str, check: bool = True) -> str:
        return docker(*args, check=check, host=self.url)

    def refusal(self, *args: str) -> str:
        """What this dockerd says on stderr to ``docker <args>``."""
        cmd = [*_cli(self.url), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr

    def answers(self) -> bool:
        proc = subprocess.run(
            [*_cli(self.url), "version"], capture_output=True, check=False, timeout=30
        )
        return proc.returncode == 0

    def start(self, timeout: float = 60) -> PrivateDockerd:
        if not Path(f"/run/netns/{self.netns}").exists():
            subprocess.run(["ip", "netns", "add", self.netns], check=True)
            subprocess.run(["ip", "-n", self.netns, "link", "set", "lo", "up"], check=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dockerd exited: {self.log.read_text()[-2000:]}")
            if self.answers():
                return self
            time.sleep(0.3)
        raise AssertionError(f"dockerd did not answer: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Stop dockerd (SIGTERM: a clean shutdown that stops every container) and wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        deadline = time.time() + 15  # its containerd leaves with it
        while time.time() < deadline and _pids_with(str(self.exec_root)):
            time.sleep(0.2)

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Remove every container, stop dockerd, delete its directories."""
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        self.stop()
        for pid in _pids_with(str(self.exec_root)):  # a leftover containerd or shim
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for root in (self.data_root, self.exec_root):
            mounts = subprocess.run(
                ["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True, check=False
            ).stdout.split()
            for target in sorted((m for m in mounts if m.startswith(str(root))), reverse=True):
                subprocess.run(["umount", "-l", target], check=False)
            shutil.rmtree(root, ignore_errors=True)
        for path in (self.sock, str(self.pidfile)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        subprocess.run(["ip", "netns", "del", self.netns], check=False)


def kill_shim(container_id: str) -> None:
    """Kill the containerd shim of ``container_id`` and its children (a stale task's)."""
    for pid in _pids_with(f"-id {container_id}"):
        children = Path(f"/proc/{pid}/task/{pid}/children")
        kids = children.read_text().split() if children.exists() else []
        for victim in (pid, *map(int, kids)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)


def _pids_with(text: str) -> list[int]:
    """PIDs whose command line mentions ``text``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            pids.append(int(entry))
    return pids


def netns_exec(pid: int, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["nsenter", "-t", str(pid), "-n", *argv], capture_output=True, text=True, check=check
    )
