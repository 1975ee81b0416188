"""Discovery at 1,000 containers: render time, and dnsmasq's reload time (SIGHUP to answer).

Run as root: .venv/bin/python bench/discovery.py [--containers 1000] [--runs 5]

* render: inventory parse + one host's plan + its three files, for a pillar of 10 docker hosts
  and N containers (half with a fixed IP, half ``dhcp: true``), best of several runs;
* reload: a real dnsmasq (``/usr/sbin/dnsmasq``) in a network namespace of its own, serving
  that configuration; a new name is written to the hosts file, then the time from SIGHUP
  until dnsmasq answers the new name is measured by a poller in the namespace (raw UDP DNS
  queries, no process spawned per query); start time (to the first answer) as well.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_utils"))

from saltmesh import fileio, inventory  # noqa: E402
from saltmesh.discovery import plan, render  # noqa: E402

DOMAIN = "mesh.internal"
SERVER = "10.77.0.2"

# Run inside the namespace: optionally SIGHUP <pid>, then query NAME until it has an answer;
# prints the seconds from the signal (or the start) to the first answer. pid -1: one query,
# prints "answered" or "unknown".
POLLER = r"""
import os, signal, socket, struct, sys, time
name, server, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
q = struct.pack(">HHHHHH", 0x5A5A, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.05)
if pid == -1:
    s.settimeout(1); s.sendto(q, (server, 53)); data = s.recv(512)
    print("answered" if struct.unpack(">H", data[6:8])[0] else "unknown"); sys.exit(0)
t0 = time.perf_counter()
if pid > 0:
    os.kill(pid, signal.SIGHUP)
while time.perf_counter() - t0 < 10:
    try:
        s.sendto(q, (server, 53)); data = s.recv(512)
        if struct.unpack(">H", data[6:8])[0] > 0:
            print(time.perf_counter() - t0); sys.exit(0)
    except OSError:
        pass
    time.sleep(0.001)
print("timeout"); sys.exit(1)
"""


def pillar(n: int, tmp: Path, extra: int = 0) -> dict:
    servers = {
        f"docker{h:02d}": {"node_type": "docker_host", "address": f"10.0.0.{10 + h}",
                           "overlay_address": f"10.77.0.{2 + h}/16"}
        for h in range(10)
    }  # fmt: skip
    for i in range(n + extra):
        host = f"docker{i % 10:02d}"
        if i % 2:
            ip = f"10.77.{1 + i // 250}.{1 + i % 250}"
            net = {"bridge": "br-mesh", "ip": f"{ip}/16"}
            servers[f"c{i:05d}"] = {"node_type": "container", "address": ip, "parents": host,
                                    "container": {"image": "busybox", "networks": [net]}}  # fmt: skip
        else:
            net = {"bridge": "br-mesh", "dhcp": True}
            servers[f"c{i:05d}"] = {"node_type": "container", "parents": host,
                                    "container": {"image": "busybox", "networks": [net]}}  # fmt: skip
    return {
        "servers": servers,
        "saltmesh": {"mesh": {"domain": DOMAIN}, "discovery": {
            "dhcp_range": ["10.77.100.0", "10.77.199.255"], "upstream": ["127.0.0.1"],
            "conf_dir": str(tmp / "etc"), "run_dir": str(tmp / "run")}},
    }  # fmt: skip


def best(fn, runs):
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def write(p: plan.HostPlan) -> None:
    os.makedirs(p.conf_dir, exist_ok=True)
    for key, text in render.render(p).items():
        fileio.write_atomic(p.path(key), text.encode())


def poll(ns: str, name: str, pid: int) -> str:
    return subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", POLLER, name, SERVER, str(pid)],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--containers", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    n = args.containers
    tmp = Path(tempfile.mkdtemp(prefix="smbench-dns-", dir="/tmp"))
    os.chmod(tmp, 0o755)  # dnsmasq re-reads the hosts files as its own user
    data = pillar(n, tmp)

    t_parse, inv = best(lambda: inventory.parse(data), args.runs)
    t_plan, p = best(lambda: plan.plan_host(inv, "docker00"), args.runs)
    t_render, files = best(lambda: render.render(p), args.runs)
    print(f"saltmesh discovery bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{os.cpu_count()} CPUs, {n} containers on 10 docker hosts")  # fmt: skip
    print(f"  records {len(p.records)}, this host's DHCP clients {len(p.dhcp_hosts)}, "
          f"bytes: conf {len(files['conf'])}, hosts {len(files['hosts'])}, dhcp {len(files['dhcp'])}")  # fmt: skip
    print(f"  inventory parse            {t_parse * 1000:8.1f} ms")
    print(f"  one host's plan            {t_plan * 1000:8.1f} ms")
    print(f"  render (3 files)           {t_render * 1000:8.1f} ms")
    print(f"  parse + plan + render      {(t_parse + t_plan + t_render) * 1000:8.1f} ms")

    if os.geteuid() != 0 or not shutil.which(p.binary):
        print("  reload: skipped (needs root and dnsmasq)")
        return
    ns = f"smbench{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    pid = None
    try:
        subprocess.run(["ip", "-n", ns, "addr", "add", f"{SERVER}/16", "dev", "lo"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        write(p)
        os.makedirs(p.run_dir, exist_ok=True)
        t0 = time.perf_counter()
        subprocess.run(["ip", "netns", "exec", ns, p.binary, f"--conf-file={p.path('conf')}"],
                       check=True)  # fmt: skip
        poll(ns, f"c00001.{DOMAIN}", 0)
        t_start = time.perf_counter() - t0
        pid = int(Path(p.path("pid")).read_text())
        reloads = []
        for k in range(args.runs):
            inv2 = inventory.parse(pillar(n, tmp, extra=2 * (k + 1)))
            p2 = plan.plan_host(inv2, "docker00")
            write(p2)  # the hosts files only: the main configuration is the same
            assert render.render_conf(p2) == files["conf"]
            new = f"c{n + 2 * k + 1:05d}.{DOMAIN}"
            assert poll(ns, new, -1) == "unknown"  # written, not yet read: SIGHUP is what does it
            reloads.append(float(poll(ns, new, pid)))
        print(f"  dnsmasq start to first answer   {t_start * 1000:8.1f} ms")
        print(f"  SIGHUP to the new name answered: median {statistics.median(reloads) * 1000:.1f} ms, "
              f"min {min(reloads) * 1000:.1f}, max {max(reloads) * 1000:.1f} ({args.runs} reloads, "
              f"{len(p.records)}+ records)")  # fmt: skip
    finally:
        if pid:
            subprocess.run(["kill", str(pid)], check=False)
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
