"""Planner speed: whole-fleet plan for 1,000 hosts and one host's plan in a 1,000-host planner.

Run: make bench-mesh   (or: .venv/bin/python bench/mesh_plan.py [HOSTS])
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_utils"))

from saltmesh import inventory  # noqa: E402
from saltmesh.mesh import planner  # noqa: E402


def best(fn, runs=5):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def main(n: int = 1000) -> None:
    servers = {
        f"docker{i:04d}": {"node_type": "docker_host", "address": f"10.{i >> 8}.{i & 255}.1"}
        for i in range(n)
    }
    pillar = {"servers": servers, "saltmesh": {"mesh": {"tunnel": "vxlan", "key": 5000}}}
    t_parse, inv = best(lambda: inventory.parse(pillar))
    t_fleet, fleet = best(lambda: planner.plan_fleet(inv), runs=3)
    tunnels = sum(len(hp.tunnels) for hp in fleet.values())
    t_host, _ = best(lambda: planner.plan_host(inv, "docker0500"), runs=20)
    print(f"hosts: {n}, directed tunnels: {tunnels}")
    print(f"inventory parse:          {t_parse * 1000:8.1f} ms")
    print(f"whole-fleet plan:         {t_fleet * 1000:8.1f} ms   (target < 2000 ms)")
    print(f"one host's plan:          {t_host * 1000:8.1f} ms   (target < 50 ms)")
    print(f"parse + one host's plan:  {(t_parse + t_host) * 1000:8.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
