#!/usr/bin/env python3
"""Benchmark ``ovs_mesh.managed`` with 500 peers: first apply and no-op, each minus a trivial
``state.apply`` measured in the same run (the salt-call floor); then, on the same vswitchd, 500
separate ``ovs_port.present`` states (plus their ``ovs_bridge``), batched into one transaction
(issue 11), first apply and no-op, against the mesh's figures.

Run as root from the repo: ``.venv/bin/python bench/mesh_state.py [--peers N]``
(``make bench-mesh``). Uses a private OVS in a network namespace and ``salt-call --local``
(see bench/ovs.py, whose harness this reuses).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ovs import REAL_VSCTL, VENV, Minion, row, sls_ours  # noqa: E402

from tests.support.ovs import have_ovs, ovs_in_netns  # noqa: E402

SLS = "saltmesh-mesh:\n  ovs_mesh.managed: []\n"


def median(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]


def pillar(peers: int) -> dict:
    servers = {
        f"docker{i:04d}": {
            "node_type": "docker_host",
            "address": f"10.{100 + i // 65025}.{i // 255 % 255}.{i % 255 + 1}",
            "minion_id": "bench" if i == 0 else f"docker{i:04d}",
        }
        for i in range(peers + 1)
    }
    mesh = {"bridge": "br-bench", "datapath_type": "netdev", "tunnel": "vxlan", "key": 5000}
    return {"servers": servers, "saltmesh": {"mesh": mesh}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--peers", type=int, default=500)
    args = ap.parse_args()
    if os.geteuid() != 0 or not have_ovs():
        raise SystemExit("run as root with Open vSwitch installed")
    ns = f"smbmesh{os.getpid() % 100000}"
    with (
        tempfile.TemporaryDirectory(prefix="smbench-mesh-") as tmp,
        ovs_in_netns(Path(tmp) / "ovs", ns) as ovs,
    ):
        work = Path(tmp)
        minion = Minion(work / "ours", VENV / "bin" / "salt-call", ovs, ours=True)
        conf = json.loads((minion.root / "minion").read_text())
        pillar_dir = minion.root / "pillar"
        pillar_dir.mkdir()
        (pillar_dir / "top.sls").write_text("base:\n  '*':\n    - mesh\n")
        (pillar_dir / "mesh.sls").write_text(json.dumps(pillar(args.peers)))
        conf["pillar_roots"] = {"base": [str(pillar_dir)]}
        (minion.root / "minion").write_text(json.dumps(conf))

        ver = subprocess.run([REAL_VSCTL, "--version"], capture_output=True, text=True)
        print(
            f"saltmesh mesh bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"OVS {ver.stdout.split()[3]}, {os.cpu_count()} CPUs, {args.peers} peers"
        )
        trivial = "ok:\n  test.succeed_without_changes: []\n"
        triv_before = median([minion.apply("trivial", trivial) for _ in range(3)])
        first = minion.apply("mesh", SLS)
        # trivial and no-op runs alternate, so both see the same (busy) vswitchd
        trivs, noops = [], []
        for _ in range(5):
            trivs.append(minion.apply("trivial", trivial))
            noops.append(minion.apply("mesh", SLS))
        triv, noop = median(trivs), median(noops)
        row("trivial state.apply, before (median)", triv_before)
        row(f"ovs_mesh.managed first ({args.peers} peers)", first)
        row("trivial state.apply, after (median)", triv)
        row("ovs_mesh.managed no-op (median of 5)", noop)
        assert noop["changed"] == 0, noop
        print(
            f"  first apply minus trivial: {first['wall_s'] - triv_before['wall_s']:+.3f} s wall\n"
            f"  no-op minus trivial:       {noop['wall_s'] - triv['wall_s']:+.3f} s wall "
            f"(target within 0.15 s); state time {noop['state_ms'] / 1000:.3f} s"
        )
        # the same tunnels as 500 separate ovs_port states, batched (the default)
        ovs.vsctl("del-br", "br-bench")
        ports = sls_ours("br-bench", args.peers)
        triv_ports = median([minion.apply("trivial", trivial) for _ in range(3)])
        # Salt's own cost of that many states, no OVS: the floor of the ports' wall time
        many = "".join(
            f"ok{i:05d}:\n  test.succeed_without_changes: []\n" for i in range(args.peers + 1)
        )
        floor = median([minion.apply("many", many) for _ in range(3)])
        pfirst = minion.apply("ports", ports)
        pnoop = minion.apply("ports", ports)
        row("trivial state.apply, again (median)", triv_ports)
        row(f"{args.peers + 1} test.succeed states (median)", floor)
        row(f"{args.peers} ovs_port first, batched", pfirst)
        row(f"{args.peers} ovs_port no-op, batched", pnoop)
        assert pfirst["writes"] == 1 and pnoop["changed"] == 0, (pfirst, pnoop)
        mesh_extra = first["wall_s"] - triv_before["wall_s"]
        ports_extra = pfirst["wall_s"] - triv_ports["wall_s"]
        print(
            f"  first apply, {args.peers} batched ovs_port vs ovs_mesh.managed: state time "
            f"{pfirst['state_ms'] / 1000:.3f} s vs {first['state_ms'] / 1000:.3f} s "
            f"({pfirst['state_ms'] / first['state_ms']:.2f}x, target within 2x); wall minus "
            f"trivial {ports_extra:+.3f} s vs {mesh_extra:+.3f} s; wall minus {args.peers + 1} "
            f"test.succeed states {pfirst['wall_s'] - floor['wall_s']:+.3f} s"
        )


if __name__ == "__main__":
    main()
