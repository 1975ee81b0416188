#!/usr/bin/env python3
"""Benchmark the OVS states: state time and ovs-vsctl round trips per run.

Run as root from the repo: ``.venv/bin/python bench/ovs.py`` (``make bench-ovs``).

Everything runs against a private OVS (ovsdb-server + ovs-vswitchd, userspace datapath) in its
own network namespace, through ``salt-call --local`` with a temporary config whose
``module_dirs``/``states_dirs`` point at this repo. ``ovs-vsctl`` is counted by a wrapper put
first on PATH (it logs each invocation, then execs the real binary), which counts Salt 3007's
calls the same way as ours.

Prints:
  * a trivial ``state.apply`` (one ``test.succeed_without_changes``): the salt-call floor;
  * ``ovs_bridge`` + N ``ovs_port.present`` tunnel states (default 500): first apply, no-op,
    batched (the default: one transaction) and, unless ``--skip-unbatched``, first apply with
    ``saltmesh:ovs_batch: false`` (one transaction per state);
  * M ports (default 200) declared with Salt 3007 ``openvswitch_port.present`` SLS, applied by
    Salt 3007.15 (``.venv-3007``, created if missing) and by saltmesh's compat states;
  * for each run: wall time, summed state durations, ovs-vsctl invocations (reads/writes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.ovs import OvsInstance, have_ovs  # noqa: E402

VENV = REPO / ".venv"
VENV3007 = REPO / ".venv-3007"
REAL_VSCTL = shutil.which("ovs-vsctl")
WRITE_CMDS = {"add-br", "del-br", "add-port", "del-port", "add-bond", "set", "remove", "clear",
              "add", "create", "destroy"}  # fmt: skip

WRAPPER = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
exec "{real}" "$@"
"""


def ensure_venv3007() -> Path:
    exe = VENV3007 / "bin" / "salt-call"
    if not exe.exists():
        print("creating .venv-3007 with salt==3007.15 ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV3007)], check=True)
        subprocess.run(
            [str(VENV3007 / "bin" / "pip"), "install", "-q", "salt==3007.15"], check=True
        )
    return exe


class Minion:
    """A salt-call --local setup: config dir, file_roots, PATH wrapper counting ovs-vsctl."""

    def __init__(
        self, root: Path, salt_call: Path, ovs: OvsInstance, ours: bool, batch: bool = True
    ):
        self.root = root
        self.salt_call = salt_call
        self.srv = root / "srv"
        self.srv.mkdir(parents=True)
        (root / "bin").mkdir()
        self.log = root / "vsctl.log"
        wrapper = root / "bin" / "ovs-vsctl"
        wrapper.write_text(WRAPPER.format(log=self.log, real=REAL_VSCTL))
        wrapper.chmod(0o755)
        conf = {
            "id": "bench",
            "file_client": "local",
            "root_dir": str(root / "salt"),
            "file_roots": {"base": [str(self.srv)]},
            "log_file": str(root / "minion.log"),
            "log_level_logfile": "warning",
            "state_verbose": False,
        }
        if ours:
            conf.update(
                module_dirs=[str(REPO / "_modules")],
                states_dirs=[str(REPO / "_states")],
                saltmesh={"ovsdb": ovs.db, "ovs_batch": batch},
            )
        (root / "minion").write_text(json.dumps(conf))
        self.env = {
            # bytecode cached, as on a real minion (pip compiles, extmods get __pycache__);
            # PYTHONDONTWRITEBYTECODE, set on some machines, would compile every run
            **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            "PYTHONPYCACHEPREFIX": str(root / "pycache"),
            "PATH": f"{root / 'bin'}:{os.environ['PATH']}",
            # Salt 3007's module has no --db option: point ovs-vsctl's default socket at ours
            "OVS_RUNDIR": str(ovs.dir),
            "PYTHONPATH": str(REPO / "_utils"),
        }

    def apply(self, sls: str, text: str) -> dict:
        (self.srv / f"{sls}.sls").write_text(text)
        self.log.write_text("")
        t0, cpu0 = time.perf_counter(), _children_cpu()
        proc = subprocess.run(
            [str(self.salt_call), "--local", "-c", str(self.root), "--out=json", "state.apply", sls],
            env=self.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        try:
            ret = json.loads(proc.stdout)["local"]
        except (ValueError, KeyError):
            raise SystemExit(
                f"salt-call failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
            ) from None
        if not isinstance(ret, dict):
            raise SystemExit(f"salt-call failed: {ret}")
        failed = [r["comment"] for r in ret.values() if r["result"] is False]
        if failed:
            raise SystemExit(f"{len(failed)} states failed, first: {failed[0]}")
        calls = [line.split() for line in self.log.read_text().splitlines()]
        reads = sum(1 for c in calls if _is_read(c))
        return {
            "wall_s": wall,
            "cpu_s": cpu,  # user + system of salt-call and what it ran
            "state_ms": sum(r.get("duration", 0) for r in ret.values()),
            "states": len(ret),
            "changed": sum(1 for r in ret.values() if r["changes"]),
            "vsctl": len(calls),
            "reads": reads,
            "writes": len(calls) - reads,
        }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _is_read(argv: list[str]) -> bool:
    return not any(a in WRITE_CMDS for a in argv)


def sls_ours(bridge: str, n: int) -> str:
    lines = [f"{bridge}:\n  ovs_bridge.present:\n    - datapath_type: netdev\n"]
    for i in range(n):
        ip = f"10.{200 + i // 65025 % 50}.{i // 255 % 255}.{i % 255 + 1}"
        lines.append(
            f"vx-{i:05d}:\n  ovs_port.present:\n    - bridge: {bridge}\n    - type: vxlan\n"
            f'    - options: {{remote_ip: {ip}, key: "5000"}}\n    - protected: true\n'
        )
    return "".join(lines)


def sls_3007(bridge: str, n: int) -> str:
    lines = [f"{bridge}:\n  openvswitch_bridge.present: []\n"]
    for i in range(n):
        ip = f"10.{100 + i // 65025 % 50}.{i // 255 % 255}.{i % 255 + 1}"
        lines.append(
            f"gre-{i:05d}:\n  openvswitch_port.present:\n    - bridge: {bridge}\n"
            f"    - tunnel_type: gre\n    - id: 200\n    - remote: {ip}\n"
        )
    return "".join(lines)


def row(label: str, r: dict) -> None:
    print(
        f"  {label:<34} wall {r['wall_s']:6.2f} s   states {r['state_ms'] / 1000:7.3f} s   "
        f"changed {r['changed']:>3}/{r['states']:<3}  ovs-vsctl {r['vsctl']:>4} "
        f"(reads {r['reads']}, writes {r['writes']})",
        flush=True,
    )


def core_one_transaction(ovs: OvsInstance, n: int) -> None:
    """The core path of the mesh state: N diff_port specs, all clauses in ONE transaction."""
    sys.path.insert(0, str(REPO / "_utils"))
    from saltmesh.ovs.bridge import diff_bridge  # noqa: PLC0415
    from saltmesh.ovs.ovsdb import Ovsdb  # noqa: PLC0415
    from saltmesh.ovs.port import diff_port  # noqa: PLC0415
    from saltmesh.ovs.spec import PortSpec  # noqa: PLC0415

    db = Ovsdb(ovs.db)
    db.transact(diff_bridge("br-core", db.snapshot(), datapath_type="netdev")[0])
    specs = [
        PortSpec(name=f"vx-{i:05d}", bridge="br-core", type="vxlan", protected=True,
                 options={"remote_ip": f"10.{200 + i // 65025 % 50}.{i // 255 % 255}.{i % 255 + 1}", "key": "5000"})
        for i in range(n)
    ]  # fmt: skip
    for label in ("first", "no-op"):
        t0 = time.perf_counter()
        snap = db.snapshot()
        clauses = [c for spec in specs for c in diff_port(spec, snap)[0]]
        db.transact(clauses)
        dt = time.perf_counter() - t0
        print(
            f"  core: {n} ports, 1 read + {1 if clauses else 0} transaction ({label}): {dt:6.3f} s",
            flush=True,
        )
    ovs.vsctl("del-br", "br-core")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ports", type=int, default=500)
    ap.add_argument("--compat-ports", type=int, default=200)
    ap.add_argument("--skip-3007", action="store_true")
    ap.add_argument("--skip-unbatched", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0 or not have_ovs():
        raise SystemExit("run as root with Open vSwitch installed")
    salt_call = VENV / "bin" / "salt-call"
    salt3007 = None if args.skip_3007 else ensure_venv3007()

    work = Path(tempfile.mkdtemp(prefix="smbench-"))
    ns = f"smbench{os.getpid() % 100000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    ovs = OvsInstance(work / "ovs", netns=ns)
    try:
        ovs.start()
        ver = subprocess.run(
            [REAL_VSCTL, "--version"], capture_output=True, text=True
        ).stdout.split()[3]
        print(f"saltmesh OVS bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"OVS {ver}, {os.cpu_count()} CPUs, private ovsdb in netns {ns}")  # fmt: skip
        ours = Minion(work / "ours", salt_call, ovs, ours=True)

        print("salt 3008 (saltmesh):")
        triv = [
            ours.apply("trivial", "ok:\n  test.succeed_without_changes: []\n") for _ in range(3)
        ]
        row("trivial state.apply (median of 3)", sorted(triv, key=lambda r: r["wall_s"])[1])
        first = ours.apply("mesh", sls_ours("br-bench", args.ports))
        row(f"{args.ports} ovs_port first apply", first)
        noop = ours.apply("mesh", sls_ours("br-bench", args.ports))
        row(f"{args.ports} ovs_port no-op", noop)
        assert noop["changed"] == 0, noop
        ovs.vsctl("del-br", "br-bench")
        if not args.skip_unbatched:
            unbatched = Minion(work / "unbatched", salt_call, ovs, ours=True, batch=False)
            one = unbatched.apply("mesh", sls_ours("br-bench", args.ports))
            row(f"{args.ports} ovs_port first, unbatched", one)
            ovs.vsctl("del-br", "br-bench")
            print(f"  batched/unbatched first apply: state time "
                  f"{first['state_ms'] / one['state_ms']:.3f}x, wall "
                  f"{first['wall_s'] / one['wall_s']:.3f}x")  # fmt: skip
        core_one_transaction(ovs, args.ports)

        n = args.compat_ports
        res = {}
        for label, minion in (("saltmesh", ours), ("3007.15", None)):
            if minion is None:
                if salt3007 is None:
                    continue
                minion = Minion(work / "s3007", salt3007, ovs, ours=False)
                print("salt 3007.15 (core openvswitch_*):")
            else:
                print("saltmesh compat states, same SLS:")
            a = minion.apply("compat", sls_3007("br-compat", n))
            row(f"{n} openvswitch_port first apply", a)
            b = minion.apply("compat", sls_3007("br-compat", n))
            row(f"{n} openvswitch_port no-op", b)
            res[label] = (a, b)
            ovs.vsctl("del-br", "br-compat")
        if "3007.15" in res:
            (a_o, b_o), (a_s, b_s) = res["saltmesh"], res["3007.15"]
            print(f"ratio 3007/saltmesh, {n} ports: first apply state time "
                  f"{a_s['state_ms'] / a_o['state_ms']:.1f}x, no-op state time "
                  f"{b_s['state_ms'] / b_o['state_ms']:.1f}x, ovs-vsctl calls no-op "
                  f"{b_s['vsctl']} vs {b_o['vsctl']}")  # fmt: skip
            if b_s["changed"]:
                print(
                    f"  note: Salt 3007 reported changes on {b_s['changed']} of {b_s['states']} states in its no-op run"
                )
    finally:
        ovs.stop()
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
