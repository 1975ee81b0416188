#!/usr/bin/env python3
"""``topology: flow`` against ``full`` with the same pillar: 1,000 hosts, 10,000 containers.

Pure part (no daemons): inventory parse, one host's plan (and its rules), rules per host, and
a host join (1,000 -> 1,001 hosts): on every existing host, which rules change, and that each
changed rule names the new host. Real part (root, Open vSwitch): ``ovs_mesh.managed`` for one
host of that pillar on a private OVS in a namespace through ``salt-call --local``: first apply
and no-op (median), each against a trivial state run with the same pillar, for ``full`` (999
tunnel ports) then ``flow`` (1 port + rules) on the same instance (the switch is the flow run's
first apply). ``--pillar slice`` gives salt-call the host's share as the ``saltmesh_fleet``
ext_pillar sends it (the way to run 1,000 hosts, docs/scale.md) instead of the whole fleet.

Run as root from the repo: ``.venv/bin/python bench/flow.py [--hosts 1000] [--containers 10]
[--no-ovs | --only-ovs] [--pillar whole|slice]`` (``--containers``: per host).
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_utils"))

from saltmesh import inventory  # noqa: E402
from saltmesh.mesh import planner  # noqa: E402


def best(fn, runs=3):
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


ROUNDS = 5  # trivial/no-op pairs per topology


def median_run(runs: list[dict]) -> dict:
    return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]


def host_ip(i: int) -> str:
    return f"10.{100 + i // 65025}.{i // 255 % 255}.{i % 255 + 1}"


def pillar(hosts: int, per_host: int, topology: str) -> dict:
    servers = {}
    for i in range(hosts):
        name = f"docker{i:04d}"
        servers[name] = {
            "node_type": "docker_host",
            "address": host_ip(i),
            "minion_id": "bench" if i == 0 else name,
        }
        for j in range(per_host):
            k = i * per_host + j
            servers[f"c{k:05d}"] = {
                "node_type": "container",
                "address": f"172.{16 + k // 65536}.{k // 256 % 256}.{k % 256}",
                "parents": name,
                "container": {
                    "image": "busybox",
                    "networks": [
                        {
                            "bridge": "br-bench",
                            "mac": f"02:be:00:{k >> 16:02x}:{k >> 8 & 255:02x}:{k & 255:02x}",
                        }
                    ],
                },
            }
    mesh = {"bridge": "br-bench", "datapath_type": "netdev", "tunnel": "vxlan", "key": 5000,
            "topology": topology}  # fmt: skip
    return {"servers": servers, "saltmesh": {"mesh": mesh}}


def pure(hosts: int, per_host: int) -> None:
    print(f"pure: {hosts} hosts, {hosts * per_host} containers with a MAC on the mesh bridge")
    for topology in ("full", "flow"):
        p = pillar(hosts, per_host, topology)
        t_parse, inv = best(lambda p=p: inventory.parse(p))

        def one(inv=inv):
            hp = planner.plan_host(inv, "docker0500")
            return hp, hp.flow.rules() if hp.flow else []

        t_host, (hp, rules) = best(one, runs=5)
        ports = len(hp.tunnels) + (3 if hp.flow else 0)
        print(
            f"  {topology:<5} parse {t_parse * 1000:7.1f} ms   one host's plan (+ rules) "
            f"{t_host * 1000:7.1f} ms   ports/host {ports:4}   rules/host {len(rules):6}"
        )
    # a host joins: compare every existing host's rules before and after
    before = planner.plan_fleet(inventory.parse(pillar(hosts, per_host, "flow")))
    after = planner.plan_fleet(inventory.parse(pillar(hosts + 1, per_host, "flow")))
    new_ip = host_ip(hosts)
    added = removed = naming = kept_naming = 0
    for host, hp in before.items():
        old, new = set(hp.flow.rules()), set(after[host].flow.rules())
        added += len(new - old)
        removed += len(old - new)
        naming += sum(1 for r in new - old if new_ip in r.actions)
        kept_naming += sum(1 for r in old & new if new_ip in r.actions)
    print(
        f"  host join ({hosts} -> {hosts + 1}), over the {hosts} existing hosts: rules added "
        f"{added} ({added / hosts:.0f}/host), removed {removed} ({removed / hosts:.0f}/host); "
        f"added rules naming the new host: {naming} of {added}; unchanged rules naming it: "
        f"{kept_naming}"
    )


def minion_pillar(hosts: int, per_host: int, topology: str, share: str) -> dict:
    """The pillar the bench host sees: the whole fleet (as from the pillar tree), or its
    slice as the ``saltmesh_fleet`` ext_pillar sends it (docs/scale.md)."""
    whole = pillar(hosts, per_host, topology)
    if share == "whole":
        return whole
    from saltmesh import fleet  # noqa: PLC0415

    return fleet.slice_for(fleet.index(whole), "bench")


def real(hosts: int, per_host: int, share: str = "whole") -> None:
    from ovs import REAL_VSCTL, VENV, Minion, row  # noqa: PLC0415

    from tests.support.ovs import have_ovs, ovs_in_netns  # noqa: PLC0415

    if os.geteuid() != 0 or not have_ovs():
        raise SystemExit("run as root with Open vSwitch installed (or --no-ovs)")
    sls = "saltmesh-mesh:\n  ovs_mesh.managed: []\n"
    trivial = "ok:\n  test.succeed_without_changes: []\n"
    ns = f"smbflow{os.getpid() % 100000}"
    with (
        tempfile.TemporaryDirectory(prefix="smbench-flow-") as tmp,
        ovs_in_netns(Path(tmp) / "ovs", ns) as ovs,
    ):
        minion = Minion(Path(tmp) / "ours", VENV / "bin" / "salt-call", ovs, ours=True)
        conf = json.loads((minion.root / "minion").read_text())
        pillar_dir = minion.root / "pillar"
        pillar_dir.mkdir()
        (pillar_dir / "top.sls").write_text("base:\n  '*':\n    - mesh\n")
        conf["pillar_roots"] = {"base": [str(pillar_dir)]}
        (minion.root / "minion").write_text(json.dumps(conf))
        ver = subprocess.run([REAL_VSCTL, "--version"], capture_output=True, text=True)
        print(
            f"real: saltmesh flow bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
            f"OVS {ver.stdout.split()[3]}, {os.cpu_count()} CPUs, one host of {hosts}, "
            f"{hosts * per_host} containers in pillar ({share})"
        )
        for topology in ("full", "flow"):
            data = minion_pillar(hosts, per_host, topology, share)
            (pillar_dir / "mesh.sls").write_text(json.dumps(data))
            first = minion.apply("mesh", sls)
            assert minion.apply("mesh", sls)["changed"] == 0  # the first no-op parses the rules
            # trivial and no-op runs in turns, so that the machine's drift hits both alike
            rounds = [
                (minion.apply("trivial", trivial), minion.apply("mesh", sls)) for _ in range(ROUNDS)
            ]
            assert all(n["changed"] == 0 for _, n in rounds), rounds
            triv = median_run([t for t, _ in rounds])
            noop = median_run([n for _, n in rounds])
            diffs = sorted(n["wall_s"] - t["wall_s"] for t, n in rounds)
            cpu = sorted(n["cpu_s"] - t["cpu_s"] for t, n in rounds)[len(rounds) // 2]
            of = subprocess.run(
                ["ovs-ofctl", "--no-stats", "dump-flows", f"unix:{ovs.dir}/br-bench-tun.mgmt"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            rules = sum(1 for line in of.stdout.splitlines() if "actions=" in line)
            label = "first" if topology == "full" else "first (switch full->flow)"
            row(f"{topology}: trivial, same pillar (median of {ROUNDS})", triv)
            row(f"{topology}: ovs_mesh.managed {label}", first)
            row(f"{topology}: ovs_mesh.managed no-op (median of {ROUNDS})", noop)
            print(
                f"    {topology}: first - trivial {first['wall_s'] - triv['wall_s']:+.2f} s wall; "
                f"no-op - trivial in each round: median {diffs[len(diffs) // 2]:+.2f} s "
                f"(from {diffs[0]:+.2f} to {diffs[-1]:+.2f}) wall, "
                f"median {cpu:+.2f} s CPU, "
                f"{(noop['state_ms'] - triv['state_ms']) / 1000:+.3f} s state time; "
                f"rules on br-bench-tun: {rules}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--containers", type=int, default=10, help="per host")
    ap.add_argument("--no-ovs", action="store_true", help="only the pure part")
    ap.add_argument("--only-ovs", action="store_true", help="only the real OVS part")
    ap.add_argument(
        "--pillar",
        choices=("whole", "slice"),
        default="whole",
        help="what the host's salt-call sees: the whole fleet, or its saltmesh_fleet slice",
    )
    args = ap.parse_args()
    if not args.only_ovs:
        pure(args.hosts, args.containers)
    if not args.no_ovs:
        real(args.hosts, args.containers, args.pillar)


if __name__ == "__main__":
    main()
