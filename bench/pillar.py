"""Per-minion pillar cost: the whole fleet in the pillar tree against the ``saltmesh_fleet``
ext_pillar's slice, with a tiny pillar as the floor.

For each fleet size (default 100 hosts + 1,000 containers, then 1,000 + 10,000) it writes the
fleet once as a pillar SLS (``top.sls``: ``'*': [fleet]``) and once as a fleet file, and times
what the master does for one minion's pillar request: ``salt.pillar.get_pillar(...)`` then
``compile_pillar()`` (Salt 3008, in this process, ``file_client: local``), CPU time (the
machine is shared), median of ``--runs``. The ext_pillar's first compile after a change of the file (read, validate, index)
is shown apart: it is paid once per change per master worker, not per minion. Then what the
minion does with it: the size of the pillar (msgpack, as sent) and the time of
``inventory.parse`` + the mesh plan (what ``ovs_mesh.managed`` and ``container.placed`` each do).
Last, the same fleet with ``topology: flow``, where a docker host's slice also holds the MAC of
every container elsewhere (``saltmesh:mesh:macs``), against the whole fleet it got before.

Run: .venv/bin/python bench/pillar.py [--sizes 100x1000,1000x10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "_utils"), str(REPO)]

import msgpack  # noqa: E402
import salt.config  # noqa: E402
import salt.pillar  # noqa: E402
import yaml  # noqa: E402

from saltmesh import fleet, inventory  # noqa: E402
from saltmesh.mesh import planner  # noqa: E402
from tests.support import fleetgen  # noqa: E402

TINY = {"saltmesh": {"mesh": {"bridge": "br-mesh"}}, "servers": {}}


def master_opts(root: Path, pillar_roots: Path, ext_pillar: list | None) -> dict:
    opts = salt.config.master_config(None)
    opts.update(
        root_dir=str(root),
        cachedir=str(root / "cache"),
        extension_modules=str(root / "extmods"),
        pillar_roots={"base": [str(pillar_roots)]},
        file_roots={"base": [str(root / "files")]},
        file_client="local",
        ext_pillar=ext_pillar or [],
        pillar_dirs=[str(REPO / "_pillar")],
        pillar_cache=False,
    )
    (root / "files").mkdir(exist_ok=True)
    return opts


def tree(root: Path, name: str, data: dict | None) -> Path:
    """A pillar tree giving ``data`` to every minion (``None``: an empty top)."""
    path = root / name
    path.mkdir()
    if data is None:
        (path / "top.sls").write_text("base: {}\n")
    else:
        (path / "top.sls").write_text("base:\n  '*':\n    - fleet\n")
        (path / "fleet.sls").write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def compile_once(opts: dict, minion_id: str) -> tuple[float, dict]:
    """CPU seconds of one pillar request (the machine is shared: wall time is noisier)."""
    start = time.process_time()
    pillar = salt.pillar.get_pillar(opts, {"id": minion_id}, minion_id, saltenv="base")
    data = pillar.compile_pillar()
    return time.process_time() - start, data


def median(opts: dict, minion_id: str, runs: int) -> tuple[float, dict]:
    times, data = [], {}
    for _ in range(runs):
        took, data = compile_once(opts, minion_id)
        times.append(took)
    assert "_errors" not in data, data.get("_errors")
    return statistics.median(times), data


def minion_side(data: dict, host: str | None) -> tuple[int, float]:
    """Bytes on the wire and what a state does with it: parse, then the host's mesh plan."""
    size = len(msgpack.packb(data, use_bin_type=True))
    start = time.process_time()
    inv = inventory.parse(data)
    if host:
        planner.plan_host(inv, host)
    return size, time.process_time() - start


def row(label: str, seconds: float, size: int | None = None, parse: float | None = None) -> str:
    text = f"  {label:<44} {seconds * 1000:8.0f} ms CPU"
    if size is not None:
        text += f"   pillar {size / 1024:8.0f} KiB   minion parse+plan {parse * 1000:6.0f} ms CPU"
    return text


def slice_only(fleet_file: Path, minion_id: str, runs: int) -> str:
    """The row of what ``slice_for`` alone costs, the fleet already cached."""
    found = fleet.cached([str(fleet_file)])
    start = time.process_time()
    for _ in range(runs):
        fleet.slice_for(found, minion_id)
    return row("  of which slice_for() alone, docker host", (time.process_time() - start) / runs)


def bench(hosts: int, containers: int, runs: int) -> None:
    raw = fleetgen.pillar(hosts, containers)
    yaml_bytes = len(yaml.safe_dump(raw, sort_keys=False).encode())
    print(f"fleet: {hosts} hosts, {containers} containers, {yaml_bytes / 1e6:.2f} MB of YAML")
    host = "docker0001"
    host_id = raw["servers"][host]["minion_id"]
    container_id = "minionbox.example.net"
    with tempfile.TemporaryDirectory(prefix="smbench-pillar-") as tmp:
        root = Path(tmp)
        fleet_file = root / "fleet.yaml"
        fleet_file.write_text(yaml.safe_dump(raw, sort_keys=False))

        opts = master_opts(root, tree(root, "tiny", TINY), None)
        compile_once(opts, host_id)  # warm-up: Salt's loaders imported once
        took, data = median(opts, host_id, runs)
        print(row("tiny pillar in the tree (floor)", took, *minion_side(data, None)))

        opts = master_opts(root, tree(root, "full", raw), None)
        took, data = median(opts, host_id, runs)
        print(row("whole fleet in the tree, docker host", took, *minion_side(data, host)))

        ext = [{"saltmesh_fleet": {"path": str(fleet_file)}}]
        opts = master_opts(root, tree(root, "empty", None), ext)
        fleet._CACHE.clear()
        cold, _ = compile_once(opts, host_id)
        print(row("ext_pillar, first compile after a change", cold))
        took, data = median(opts, host_id, runs)
        assert set(data["servers"]) < set(raw["servers"])
        print(row("ext_pillar slice, docker host", took, *minion_side(data, host)))
        print(slice_only(fleet_file, host_id, runs))
        took, data = median(opts, container_id, runs)
        print(row("ext_pillar slice, container minion", took, *minion_side(data, None)))
        took, data = median(opts, "*", runs)
        print(row("ext_pillar whole fleet ('*': runners)", took, *minion_side(data, None)))

        # topology flow: a docker host's rules name every container's MAC
        flow = dict(
            raw,
            saltmesh=dict(raw["saltmesh"], mesh={**raw["saltmesh"]["mesh"], "topology": "flow"}),
        )
        flow_file = root / "fleet-flow.yaml"
        flow_file.write_text(yaml.safe_dump(flow, sort_keys=False))
        ext = [{"saltmesh_fleet": {"path": str(flow_file)}}]
        opts = master_opts(root, tree(root, "empty-flow", None), ext)
        compile_once(opts, host_id)
        took, data = median(opts, "*", runs)
        print(row("flow: whole fleet (what a host got before)", took, *minion_side(data, host)))
        took, data = median(opts, host_id, runs)
        assert set(data["servers"]) < set(raw["servers"])
        print(row("flow: ext_pillar slice with the MACs, host", took, *minion_side(data, host)))
        print(slice_only(flow_file, host_id, runs))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100x1000,1000x10000", help="HOSTSxCONTAINERS,...")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    print(f"saltmesh pillar bench {stamp}, {os.cpu_count()} CPUs, load {load:.1f}")
    print(f"salt {salt.version.__version__}; median of {args.runs} per-minion compiles\n")
    for size in args.sizes.split(","):
        hosts, containers = (int(x) for x in size.split("x"))
        bench(hosts, containers, args.runs)


if __name__ == "__main__":
    main()
