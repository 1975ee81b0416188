"""``make demo-clean``: remove whatever a demo left behind (``python -m demo.clean``).

A demo kept with ``--keep`` (``make demo KEEP=1``), or one that crashed, leaves daemons,
namespaces, containers and an image, all named after its tag ``smday<4 hex>``:

* processes whose command line names the demo's directory ``/tmp/smday<hex>/`` (the salt
  daemons and CLIs, ovsdb-server and ovs-vswitchd, nagios4 and its workers, the webhook
  receiver): SIGTERM, then SIGKILL, by pid;
* containers whose image is ``smday<hex>/...``, and those images; step 8's ``mon01`` (image
  ``saltmesh/minion:*``, placed on docker01..04; the image stays, it is the machine's cache);
* network namespaces ``smday<hex>-*`` (the docker hosts, the switch, nagios01);
* the directories ``/tmp/smday<hex>``.

Nothing else is touched: another demo's or test's names never match.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

TAG = r"smday[0-9a-f]{4}"
DIR_RE = re.compile(rf"/tmp/{TAG}/")
IMAGE_RE = re.compile(rf"^{TAG}/")
NETNS_RE = re.compile(rf"^{TAG}-")


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def demo_processes() -> list[int]:
    me = os.getpid()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if DIR_RE.search(cmdline.decode(errors="replace")):
            pids.append(int(entry))
    return sorted(pids)


def stop_processes() -> tuple[int, int]:
    """SIGTERM, then SIGKILL; again while new ones appear (a minion forks a scheduled job
    while it is being stopped). Returns (stopped, still running)."""
    stopped: set[int] = set()
    for _ in range(5):
        pids = demo_processes()
        if not pids:
            break
        stopped.update(pids)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (pids := [p for p in pids if _alive(p)]):
                time.sleep(0.2)
            if not pids:
                break
    return len(stopped), len(demo_processes())


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _demo_minion(name: str, image: str) -> bool:
    """Step 8's mon01: that name, the minion image, placed on one of the demo's docker hosts."""
    if name != "mon01" or not image.startswith("saltmesh/minion:"):
        return False
    host = _run("docker", "inspect", "--format", '{{index .Config.Labels "saltmesh.host"}}', name)
    return host.stdout.strip() in {"docker01", "docker02", "docker03", "docker04"}


def main() -> int:
    if os.geteuid() != 0:
        print("make demo-clean runs as root (like make demo)", file=sys.stderr)
        return 1
    stopped, left = stop_processes()
    print(f"processes: {stopped} stopped" + (f", {left} still running" if left else ""))

    removed = []
    if shutil.which("docker"):
        listing = _run("docker", "ps", "-a", "--format", "{{.ID}} {{.Image}} {{.Names}}").stdout
        for line in listing.splitlines():
            cid, image, name = (line.split() + ["", "", ""])[:3]
            if IMAGE_RE.match(image) or _demo_minion(name, image):
                _run("docker", "rm", "-f", cid)
                removed.append(name)
        images = _run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
        ours = [ref for ref in images if IMAGE_RE.match(ref)]
        for ref in ours:
            _run("docker", "rmi", "-f", ref)
        print(f"containers: {', '.join(removed) or 'none'}; images: {', '.join(ours) or 'none'}")

    spaces = [line.split()[0] for line in _run("ip", "netns", "list").stdout.splitlines() if line]
    spaces = [ns for ns in spaces if NETNS_RE.match(ns)]
    for ns in spaces:
        _run("ip", "netns", "del", ns)
    print(f"network namespaces: {', '.join(spaces) or 'none'}")

    dirs = [d for d in Path("/tmp").iterdir() if re.fullmatch(TAG, d.name) and d.is_dir()]
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    print(f"directories: {', '.join(str(d) for d in dirs) or 'none'}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
