"""The placement runner's loader side with Salt's dunders injected: text and data output,
capacity from cached grains, the record written (hosts, pool addresses, usable hosts), and bad
or infeasible pillar answered with one error and nothing written."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import pytest
import yaml
from salt.exceptions import SaltException

RUNNER = Path(__file__).resolve().parents[2] / "_runners" / "placement.py"

PILLAR = {
    "saltmesh": {"pools": {"overlay": {"subnet": "192.168.77.0/24",
                                       "range": ["192.168.77.100", "192.168.77.199"]}}},
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11", "zone": "a",
                     "capacity": {"cpus": 4, "memory": "8g"}},
        "docker02": {"node_type": "docker_host", "address": "10.0.0.12", "zone": "b",
                     "minion_id": "m2"},
        "docker03": {"node_type": "docker_host", "address": "10.0.0.13", "zone": "a",
                     "capacity": {"cpus": 4, "memory": "8g"}},
        "web": {"node_type": "app", "instances": 3,
                "constraints": [{"unique": "host"}, {"prefer": {"zone": "a"}, "weight": 50}],
                "container": {"image": "local/busybox:latest", "cpus": 0.5, "memory": "256m",
                              "networks": [{"bridge": "br-mesh", "pool": "overlay"}]}},
    },
}  # fmt: skip


class Runner:
    def __init__(self, tmp_path, pillar, output=None, grains=None):
        spec = importlib.util.spec_from_file_location("smt_placement_runner", RUNNER)
        self.mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.mod)
        self.pillar = pillar
        self.grains_asked = []

        def cache_grains(tgt, tgt_type):
            self.grains_asked.append((tgt, tgt_type))
            if isinstance(grains, Exception):
                raise grains
            return grains or {}

        self.mod.__opts__ = {"output": output, "pillar_roots": {"base": [str(tmp_path)]}}
        self.mod.__salt__ = {
            "pillar.show_pillar": lambda minion: copy.deepcopy(self.pillar),
            "cache.grains": cache_grains,
        }
        self.mod.__context__ = {}
        self.path = tmp_path / "saltmesh_placement.sls"

    def record(self):
        """The pillar as it compiles with the record included."""
        data = yaml.safe_load(self.path.read_text())["saltmesh"]
        self.pillar = copy.deepcopy(self.pillar)
        self.pillar["saltmesh"].update(data)


def test_plan_text_uses_grains_for_hosts_without_capacity(tmp_path):
    run = Runner(tmp_path, PILLAR, grains={"m2": {"num_cpus": 2, "mem_total": 2048}})
    lines = run.mod.plan()
    assert run.grains_asked == [("m2", "list")]
    assert lines[0].split() == ["CONTAINER", "HOST", "CPUS", "MEMORY", "ADDRESS", "RULE", "CHANGE"]
    web = [line.split() for line in lines if line.startswith("web-")]
    assert len(web) == 3 and {w[1] for w in web} == {"docker01", "docker02", "docker03"}
    assert all(w[2:4] == ["0.5", "256m"] and w[4].startswith("192.168.77.1") for w in web)
    d2 = next(line for line in lines if line.startswith("docker02 "))
    assert "0.5/2" in d2 and "256m/2g" in d2 and "capacity from grains" in d2


def test_plan_data_one_mapping_per_container(tmp_path):
    run = Runner(tmp_path, PILLAR, output="json", grains=SaltException("no cache"))
    data = run.mod.plan()
    assert sorted(data) == ["web-1", "web-2", "web-3"]
    one = data["web-1"]
    assert one["host"] in PILLAR["servers"] and one["move"] is None and one["reasons"]
    assert one["addresses"]["eth0"]["ip"].startswith("192.168.77.1")
    assert one["reserved"] == {"cpus": 0.5, "memory": "256m"}


def test_apply_records_and_moves_are_ordered(tmp_path):
    run = Runner(tmp_path, PILLAR)
    pred = run.mod.apply(test=True)
    assert sorted(pred["changes"]) == ["web-1", "web-2", "web-3"] and not run.path.exists()
    ret = run.mod.apply()
    assert ret["changes"] == pred["changes"] and ret["addresses"] == pred["addresses"]
    written = yaml.safe_load(run.path.read_text())["saltmesh"]
    assert set(written) == {"placement", "allocations", "placement_hosts"}
    assert written["placement_hosts"] == ["docker01", "docker02", "docker03"]
    assert {a["eth0"]["ip"] for a in written["allocations"].values()} == {
        "192.168.77.100", "192.168.77.101", "192.168.77.102",
    }  # fmt: skip
    run.record()
    mtime = run.path.stat().st_mtime_ns
    again = run.mod.apply()
    assert again["changes"] == {} and again["addresses"] == {} and again["order"] == []
    assert run.path.stat().st_mtime_ns == mtime
    # drain the host of web-2: it moves, its address stays, the old host stops it first
    old_host = written["placement"]["web-2"]
    run.pillar["saltmesh"]["placement_weights"] = {old_host: 0}
    run.pillar["servers"]["docker04"] = {"node_type": "docker_host", "address": "10.0.0.14"}
    lines = run.mod.plan()
    assert f"moves from {old_host}: {old_host} is drained (weight 0)" in "\n".join(lines)
    moved = run.mod.apply()
    new_host = moved["changes"]["web-2"]["new"]
    assert list(moved["changes"]) == ["web-2"] and new_host != old_host
    assert moved["order"] == [
        f"1. {old_host}: stop web-2 (containers.prune)",
        f"2. {new_host}: start web-2 (containers)",
    ]
    assert moved["addresses"] == {}
    assert lines[-2:] == moved["order"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["servers"]["web"].update(instances=5),
         "servers:web: web-4 cannot be placed on any of 3 docker hosts: unique host rules out"),
        (lambda p: p["servers"]["web"]["constraints"].append({"spread": "colour"}),
         "servers:web:constraints:2:spread: 'colour' is not a host attribute"),
        (lambda p: p["saltmesh"]["pools"]["overlay"].update(range=["192.168.77.100"] * 2),
         "saltmesh:pools:overlay: pool overlay is exhausted"),
    ],
)  # fmt: skip
def test_bad_pillar_is_one_error_and_nothing_is_written(tmp_path, change, message):
    pillar = copy.deepcopy(PILLAR)
    change(pillar)
    run = Runner(tmp_path, pillar)
    for answer in (run.mod.plan(), run.mod.apply()):
        assert answer["retcode"] == 1 and message in answer["error"], answer
    assert run.mod.__context__["retcode"] == 1
    assert not run.path.exists()
