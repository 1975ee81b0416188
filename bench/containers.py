#!/usr/bin/env python3
"""Benchmark: no-op apply of N declared containers, saltmesh vs saltext-dockermod.

Runs Salt in-process (``salt.client.Caller``, masterless, file_roots = the repo's SLS tree and
extension folders) against the real dockerd through a counting unix-socket proxy, so every
Docker API request of each run is counted (and container creations are listed by path).

Figures (medians of ``--runs`` no-op runs after the containers exist):

* trivial apply: ``state.sls`` of one ``test.succeed_without_changes`` state;
* saltmesh: ``state.sls containers`` (one ``container.placed`` for N containers);
* saltext-dockermod: the same N containers as N ``docker_container.running`` states.

saltext-dockermod is installed (``pip install --no-deps --target bench/out/deps``) on first use,
so the project venv stays clean; ``--no-dockermod`` skips it.

Usage::

    .venv/bin/python bench/containers.py [-n 50] [--runs 5] [--dockermod-runs 2] [--attach]
                                         [--no-dockermod]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEPS = REPO / "bench" / "out" / "deps"
DOCKER_SOCK = "/var/run/docker.sock"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(DEPS))  # saltext-dockermod, found by Salt through its entry point

from tests.support import docker as d  # noqa: E402
from tests.support.ovs import OvsInstance  # noqa: E402

REQ_RE = re.compile(rb"(GET|POST|PUT|DELETE|HEAD) (/[^ ]*) HTTP/1\.[01]\r\n")


class CountingProxy:
    """A unix-socket proxy in front of dockerd that counts HTTP requests (and logs paths)."""

    def __init__(self, path: str):
        self.path = path
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def count(self) -> int:
        return len(self.paths)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(DOCKER_SOCK)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    with self.lock:
                        for m in REQ_RE.finditer(data):
                            self.paths.append(f"{m.group(1).decode()} {m.group(2).decode()}")
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()


def ensure_dockermod() -> bool:
    if (DEPS / "saltext" / "dockermod").is_dir():
        return True
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(DEPS),
         "saltext-dockermod"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        print(f"saltext-dockermod could not be installed: {proc.stderr.strip()[-300:]}")
        return False
    return True


def yaml_dump(data) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=50, help="declared containers (default 50)")
    ap.add_argument("--runs", type=int, default=5, help="no-op runs per variant (default 5)")
    ap.add_argument("--attach", action="store_true", help="also attach saltmesh containers to OVS")
    ap.add_argument("--no-dockermod", action="store_true", help="skip saltext-dockermod")
    ap.add_argument("--profile", action="store_true", help="cProfile one saltmesh no-op run")
    ap.add_argument(
        "--dockermod-runs", type=int, default=2, help="no-op runs of saltext-dockermod (slow)"
    )
    args = ap.parse_args()
    dockermod = not args.no_dockermod and ensure_dockermod()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up when killed

    tag = "smbench" + uuid.uuid4().hex[:4]
    work = Path(tempfile.mkdtemp(prefix=f"{tag}-"))
    image = f"{tag}img/busybox:latest"
    netns = f"{tag}ns" if args.attach else None
    ovs = None
    proxy = None
    try:
        d.import_image(d.rootfs_tar(work / "rootfs.tar"), image)
        if netns:
            subprocess.run(["ip", "netns", "add", netns], check=True)
        (work / "ovs").mkdir()
        ovs = OvsInstance(work / "ovs", netns=netns).start()
        if netns:
            ovs.vsctl(
                "add-br", "br-bench", "--", "set", "bridge", "br-bench", "datapath_type=netdev"
            )
        proxy = CountingProxy(str(work / "docker.sock"))

        # state tree: the repo's SLS plus the extension folders, and the bench SLS files
        tree = work / "tree"
        tree.mkdir()
        for name in ("_modules", "_states", "_runners", "_utils"):
            (tree / name).symlink_to(REPO / name)
        (tree / "bench_trivial.sls").write_text("trivial:\n  test.succeed_without_changes\n")
        host = f"{tag}-host"
        servers = {host: {"node_type": "docker_host", "address": "10.249.0.1", "minion_id": tag}}
        dm_states = {}
        for i in range(args.n):
            spec = {
                "image": image,
                "command": d.SLEEPER,
                "env": {"ROLE": "bench", "INDEX": str(i)},
                "labels": {"bench": tag},
                "memory": "32m",
                "restart": "unless-stopped",
            }
            if netns:
                spec["networks"] = [
                    {"bridge": "br-bench", "ip": f"10.249.{1 + i // 250}.{1 + i % 250}/16"}
                ]
            servers[f"{tag}-c{i:03d}"] = {
                "node_type": "container",
                "address": f"10.249.{1 + i // 250}.{1 + i % 250}",
                "parents": host,
                "container": spec,
            }
            dm_states[f"{tag}-dm{i:03d}"] = {
                "docker_container.running": [
                    {"image": image},
                    {"command": d.SLEEPER},
                    {"environment": [{"ROLE": "bench"}, {"INDEX": str(i)}]},
                    {"labels": [{"bench": tag}]},
                    {"mem_limit": "32m"},
                    {"restart_policy": "unless-stopped"},
                ]
            }
        (tree / "bench_dockermod.sls").write_text(yaml_dump(dm_states))
        pillar_dir = work / "pillar"
        pillar_dir.mkdir()
        (pillar_dir / "top.sls").write_text("base:\n  '*':\n    - bench\n")
        (pillar_dir / "bench.sls").write_text(yaml_dump({"servers": servers}))

        conf = work / "conf"
        conf.mkdir()
        url = f"unix://{work / 'docker.sock'}"
        (conf / "minion").write_text(
            yaml_dump(
                {
                    "id": tag,
                    "file_client": "local",
                    "root_dir": str(work / "root"),
                    "pki_dir": str(work / "root" / "pki"),
                    "cachedir": str(work / "root" / "cache"),
                    "sock_dir": str(work / "root" / "sock"),
                    "log_file": str(work / "root" / "minion.log"),
                    "file_roots": {"base": [str(REPO / "salt"), str(tree)]},
                    "pillar_roots": {"base": [str(pillar_dir)]},
                    "fileserver_followsymlinks": True,
                    "saltmesh": {"docker_url": url, "ovsdb": ovs.db, "netns": netns},
                    "docker.url": url,
                }
            )
        )
        import salt.client
        import salt.config

        opts = salt.config.minion_config(str(conf / "minion"))
        caller = salt.client.Caller(mopts=opts)
        assert caller.cmd("saltutil.sync_all") is not None
        caller = salt.client.Caller(mopts=opts)  # reload with the synced modules

        def apply(sls: str):
            before = proxy.count
            t0 = time.perf_counter()
            ret = caller.cmd("state.sls", sls)
            wall = time.perf_counter() - t0
            if not isinstance(ret, dict):
                raise SystemExit(f"state.sls {sls} failed: {ret}")
            failed = [k for k, v in ret.items() if not v.get("result")]
            if failed:
                raise SystemExit(
                    f"state.sls {sls}: failed {failed[:3]}: {ret[failed[0]]['comment']}"
                )
            changes = sum(1 for v in ret.values() if v.get("changes"))
            state_ms = sum(float(v.get("duration") or 0) for v in ret.values())
            reqs = proxy.paths[before:]
            creates = sum(1 for p in reqs if p.startswith("POST") and "/containers/create" in p)
            return wall, state_ms, changes, len(reqs), creates

        def measure(label: str, sls: str, count: int = args.runs) -> dict:
            first = apply(sls)
            print(f"{label}: first apply {first[0]:.2f} s, {first[2]} states changed")
            runs = [apply(sls) for _ in range(count)]
            out = {
                "wall": statistics.median(r[0] for r in runs),
                "state_ms": statistics.median(r[1] for r in runs),
                "changes": max(r[2] for r in runs),
                "requests": max(r[3] for r in runs),
                "creates": max(r[4] for r in runs),
            }
            print(
                f"{label}: no-op wall {out['wall'] * 1000:.0f} ms (median of {count}), "
                f"state time {out['state_ms']:.0f} ms, changed states {out['changes']}, "
                f"API requests/run {out['requests']}, container creates/run {out['creates']}"
            )
            return out

        print(
            f"N={args.n} containers, runs={args.runs}, attach={'yes' if netns else 'no'}, "
            f"docker {d.docker('version', '--format', '{{.Server.Version}}').strip()}"
        )
        trivial = measure("trivial", "bench_trivial")
        ours = measure("saltmesh container.placed", "containers")
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.runcall(apply, "containers")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
        print(
            f"saltmesh no-op minus trivial: {(ours['wall'] - trivial['wall']) * 1000:.0f} ms "
            f"(target <= 200 ms); API requests {ours['requests']} (target <= 3 + N = {3 + args.n})"
        )
        if dockermod:
            theirs = measure(
                "saltext-dockermod docker_container.running", "bench_dockermod", args.dockermod_runs
            )
            ratio_state = theirs["state_ms"] / max(ours["state_ms"], 0.001)
            ratio_wall = (theirs["wall"] - trivial["wall"]) / max(
                ours["wall"] - trivial["wall"], 0.001
            )
            print(
                f"saltext-dockermod / saltmesh: state time x{ratio_state:.1f}, "
                f"wall minus trivial x{ratio_wall:.1f} (target >= 10)"
            )
        return 0
    finally:
        if proxy is not None:
            proxy.close()
        d.remove_containers(tag)
        leftovers = d.docker("ps", "-aq", "--filter", f"label=bench={tag}", check=False).split()
        if leftovers:  # temporary containers of an interrupted docker_container.running
            d.docker("rm", "-f", *leftovers, check=False)
        d.remove_images(tag)
        if ovs is not None:
            ovs.stop()
        if netns:
            subprocess.run(["ip", "netns", "del", netns], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
