"""Containers that are minions: pillar, config and keys on the docker host, key acceptance."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from saltmesh import inventory
from saltmesh.containers import minion, minion_keys, placed
from saltmesh.errors import PillarError
from saltmesh.inventory.model import MinionSpec
from saltmesh.nagios import settings
from tests.unit.containers.fakes import IMAGE, FakeEngine

REF = "local/minion:1"


def servers(**extra_container):
    return {
        "d1": {"node_type": "docker_host", "address": "10.0.0.1", "minion_id": "dock1"},
        "d2": {"node_type": "docker_host", "address": "10.0.0.2", "minion_id": "dock2"},
        "web01": {
            "node_type": "container",
            "address": "10.1.0.1",
            "parents": "d1",
            "container": {"image": REF, "minion": {"master": "10.0.0.9"}, **extra_container},
        },
        "db01": {"node_type": "container", "address": "10.1.0.2", "parents": "d2",
                 "minion_id": "db01.example", "container": {"image": REF,
                 "minion": {"master": "salt.example", "master_port": 14506}}},
        "plain": {"node_type": "container", "address": "10.1.0.3", "parents": "d1",
                  "container": {"image": REF}},
    }  # fmt: skip


def problems(raw: dict) -> list[str]:
    with pytest.raises(PillarError) as err:
        inventory.parse({"servers": raw})
    return [path for path, _ in err.value.problems]


def test_the_minion_id_is_the_servers_minion_id():
    inv = inventory.parse({"servers": servers()})
    assert inv.servers["web01"].container.minion == MinionSpec("10.0.0.9", None, "web01")
    assert inv.servers["db01"].container.minion == MinionSpec("salt.example", 14506, "db01.example")
    assert inv.servers["plain"].container.minion is None


@pytest.mark.parametrize(
    ("minion_pillar", "path"),
    [
        ({"master": "not an address!"}, "servers:web01:container:minion:master"),
        ({"master": "1.2.3"}, "servers:web01:container:minion:master"),
        ({}, "servers:web01:container:minion:master"),
        ({"master": "10.0.0.9", "id": "x"}, "servers:web01:container:minion:id"),
        ({"master": "10.0.0.9", "master_port": 0}, "servers:web01:container:minion:master_port"),
        ("10.0.0.9", "servers:web01:container:minion"),
    ],
)
def test_bad_minion_pillar_names_its_path(minion_pillar, path):
    raw = servers()
    raw["web01"]["container"]["minion"] = minion_pillar
    assert problems(raw) == [path]


def test_a_volume_on_the_minions_mounts_and_a_bad_minion_id_are_refused():
    raw = servers(volumes=["/srv/x:/etc/salt/minion.d/:ro", "/srv/y:/data"])
    assert problems(raw) == ["servers:web01:container:volumes:0"]
    raw = servers()
    raw["web01"]["minion_id"] = "web 01"
    assert problems(raw) == ["servers:web01:minion_id"]


def test_config_text_is_yaml_that_no_value_can_break():
    text = minion.render_config(MinionSpec("true", 4506, "web01"), "d1").decode()
    assert text.splitlines()[1:] == ['id: "web01"', 'master: "true"', "master_port: 4506"]
    assert text.startswith("# Managed by saltmesh (container.placed on d1).")
    assert minion.read_values(text.encode()) == {
        "id": "web01",
        "master": "true",
        "master_port": 4506,
    }


def test_effective_spec_mounts_config_and_keys_read_only_and_labels_the_config(tmp_path):
    spec = inventory.parse({"servers": servers(volumes=["/srv/y:/data"])}).servers["web01"]
    eff = minion.effective(spec.container, "web01", str(tmp_path), "d1")
    assert eff.volumes == (
        "/srv/y:/data",
        f"{tmp_path}/web01/minion.d:/etc/salt/minion.d:ro",
        f"{tmp_path}/web01/pki/minion.pem:/etc/salt/pki/minion/minion.pem:ro",
        f"{tmp_path}/web01/pki/minion.pub:/etc/salt/pki/minion/minion.pub:ro",
    )
    assert dict(eff.labels) == {
        minion.CONFIG_LABEL: minion.config_hash(spec.container.minion, "d1")
    }
    other = MinionSpec("10.0.0.10", None, "web01")
    assert minion.config_hash(other, "d1") != minion.config_hash(spec.container.minion, "d1")


def test_files_are_written_once_and_the_key_is_never_replaced(tmp_path):
    spec = MinionSpec("10.0.0.9", None, "web01")
    pred, pub = minion.ensure_files(str(tmp_path), "web01", spec, "d1", test=True)
    assert pub is None and list(tmp_path.iterdir()) == []  # test=True writes nothing
    assert pred == {
        "minion_config": {"old": None, "new": {"id": "web01", "master": "10.0.0.9"}},
        "minion_key": {"old": None, "new": "a new key pair"},
    }
    changes, pub = minion.ensure_files(str(tmp_path), "web01", spec, "d1", test=False)
    assert changes["minion_key"]["new"] == minion.pem_finger(pub)
    assert pub.startswith("-----BEGIN PUBLIC KEY-----")
    pem = tmp_path / "web01" / "pki" / "minion.pem"
    assert pem.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert os.stat(pem).st_mode & 0o777 == 0o600
    assert os.stat(pem.parent).st_mode & 0o777 == 0o700
    assert minion.ensure_files(str(tmp_path), "web01", spec, "d1", test=False) == ({}, pub)
    moved = MinionSpec("10.0.0.10", 4506, "web01")
    changes, again = minion.ensure_files(str(tmp_path), "web01", moved, "d1", test=False)
    assert again == pub and changes == {
        "minion_config": {
            "old": {"id": "web01", "master": "10.0.0.9"},
            "new": {"id": "web01", "master": "10.0.0.10", "master_port": 4506},
        }
    }


def test_a_minion_dir_that_cannot_be_written_fails_that_container_only(tmp_path):
    base = tmp_path / "file"
    base.write_text("")
    inv = inventory.parse({"servers": servers()})
    _, containers = placed.declared(inv, "dock1")
    ready = minion.prepare(containers, str(base), "d1", test=False)
    assert sorted(ready.specs) == ["plain"] and ready.keys == {}
    assert ready.failures == [
        f"web01: minion files: {base}/web01/minion.d/saltmesh.conf: Not a directory"
    ]


def test_placed_announces_the_keys_before_any_container_starts(tmp_path):
    inv = inventory.parse({"servers": servers()})
    _, containers = placed.declared(inv, "dock1")
    eng = FakeEngine(images={REF: IMAGE})
    seen = []
    out = placed.ensure_placed(
        eng, containers, "d1", False, minion_dir=str(tmp_path),
        announce=lambda keys: seen.append((dict(keys), list(eng.written()))),
    )  # fmt: skip
    assert out.result is True, out.comment
    ((keys, written),) = seen
    assert list(keys) == ["web01"] and written == []  # announced before the first write
    assert set(out.changes["web01"]) == {"minion_config", "minion_key", "created"}
    create = next(
        kw for method, _, kw in eng.writes if method == "create_container" and kw["name"] == "web01"
    )
    assert f"{tmp_path}/web01/minion.d:/etc/salt/minion.d:ro" in create["host_config"]["Binds"]
    assert minion.CONFIG_LABEL in create["labels"]
    seen.clear()
    placed.ensure_placed(
        eng, containers, "d1", True, minion_dir=str(tmp_path), announce=seen.append
    )
    assert seen == []  # test mode announces nothing


PUB = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
OTHER = "-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----\n"


def test_keys_are_accepted_only_for_the_announcing_hosts_minion_containers():
    inv = inventory.parse({"servers": servers()})
    plan = minion_keys.plan_keys(
        inv, "dock1", {"web01": PUB, "db01.example": PUB, "plain": PUB, "d1": PUB}, {}
    )
    assert plan.accept == {"web01": PUB}
    assert sorted(plan.refused) == ["d1", "db01.example", "plain"]
    assert plan.refused["db01.example"] == (
        "no container placed on d1 has container:minion with id db01.example"
    )
    nobody = minion_keys.plan_keys(inv, "web01", {"web01": PUB}, {})
    assert nobody.refused == {
        "web01": "web01 is not the minion of a docker_host in the servers pillar"
    }
    assert minion_keys.plan_keys(inv, "dock1", {"web01": "ssh-rsa AAAA"}, {}).refused == {
        "web01": "not a PEM public key"
    }


@pytest.mark.parametrize(
    ("known", "outcome"),
    [
        (("accepted", PUB), "current"),
        (("pending", OTHER), "accept"),  # anyone may knock: the vouched key wins
        (("pending", PUB), "accept"),
        (("accepted", OTHER), "refused"),  # never replaced: salt-key -d first
        (("rejected", PUB), "refused"),
    ],
)
def test_what_the_master_already_holds(known, outcome):
    inv = inventory.parse({"servers": servers()})
    plan = minion_keys.plan_keys(inv, "dock1", {"web01": PUB}, {"web01": known})
    summary = {"current": plan.current, "accept": list(plan.accept), "refused": list(plan.refused)}
    assert summary[outcome] == ["web01"], plan
    if known == ("accepted", OTHER):
        assert "salt-key -d web01" in plan.refused["web01"]


def test_the_pillar_example_of_a_minion_container_parses():
    root = Path(__file__).resolve().parents[3] / "pillar.example"
    data = {name: yaml.safe_load((root / f"{name}.sls").read_text()) for name in
            ("servers", "minions", "nagios", "minion_nrpe")}  # fmt: skip
    merged = {"servers": {**data["servers"]["servers"], **data["minions"]["servers"]}}
    mon01 = inventory.parse(merged).servers["mon01"]
    assert mon01.container.minion == MinionSpec("10.0.0.2", None, "mon01")
    nagios = {**data["nagios"]["saltmesh"]["nagios"]}
    nagios["nrpe"] = {**nagios["nrpe"], **data["minion_nrpe"]["saltmesh"]["nagios"]["nrpe"]}
    parsed = settings.parse_settings({"saltmesh": {"nagios": nagios}})
    assert parsed.nrpe.reload == "signal" and parsed.nrpe.pid_file == "/run/nagios/nrpe.pid"
