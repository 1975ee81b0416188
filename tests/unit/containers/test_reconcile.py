"""One container over an in-memory engine: what is written, and only when something differs."""

from __future__ import annotations

import pytest

from saltmesh.containers import reconcile
from saltmesh.errors import CommandError, SaltmeshError
from tests.unit.containers.fakes import IMAGE, FakeAttacher, FakeEngine, inspect_of, spec

REF = "local/bb:1"
NETS = [{"bridge": "br0", "ip": "10.0.0.2/24"}]


def engine_with(*, containers=None, images=None):
    return FakeEngine(images={REF: IMAGE} if images is None else images, containers=containers)


@pytest.mark.parametrize("test", [True, False])
def test_create(test):
    eng = engine_with()
    out = reconcile.ensure_running(eng, "c1", spec(), "d1", test)
    assert out.result and out.changes == {"created": "c1"}
    if test:
        assert out.comment == "Container c1 would be created" and eng.writes == []
    else:
        assert out.comment == "Container c1 created"
        assert eng.written() == ["create_container", "start"]
        assert eng.writes[0][2]["labels"]["saltmesh.host"] == "d1"
        assert reconcile.state_of(eng.containers["c1"]) == "running"


def test_in_sync_writes_nothing():
    s = spec(memory="64m")
    eng = engine_with(containers={"c1": inspect_of(s, "d1")})
    out = reconcile.ensure_running(eng, "c1", s, "d1")
    assert out.changes == {} and eng.writes == []
    assert out.comment == "Container c1 is running as requested"


def test_update_in_place_and_recreate():
    have = spec(memory="64m", env={"A": "1"})
    eng = engine_with(containers={"c1": inspect_of(have)})
    out = reconcile.ensure_running(eng, "c1", spec(memory="96m", env={"A": "1"}))
    assert list(out.changes) == ["memory"] and "updated in place (memory)" in out.comment
    method, args, kwargs = eng.writes[0]
    assert (method, args, kwargs["mem_limit"]) == ("update_container", ("abc",), 96 * 1024**2)

    eng = engine_with(containers={"c1": inspect_of(have)})
    out = reconcile.ensure_running(eng, "c1", spec(memory="96m", env={"A": "2"}))
    assert set(out.changes) == {"memory", "env"}
    assert out.comment == "Container c1 recreated (env differ)"
    # the old one aside while the new one is created, stopped just before the new one starts
    assert eng.written() == ["rename", "create_container", "stop", "start", "remove_container"]
    assert eng.writes[0][1] == ("abc", "c1.saltmesh-old") and list(eng.containers) == ["c1"]


def test_stopped_container_is_started():
    s = spec()
    eng = engine_with(containers={"c1": inspect_of(s, State__Status="exited", State__Pid=0)})
    out = reconcile.ensure_running(eng, "c1", s, test=True)
    assert out.changes == {"state": {"old": "exited", "new": "running"}} and eng.writes == []
    assert out.comment == "Container c1 would be started"
    reconcile.ensure_running(eng, "c1", s)
    assert eng.written() == ["start"]


def test_a_stale_engine_task_is_left_behind_with_the_container():
    s = spec(env={"A": "1"})
    eng = engine_with(containers={"c1": inspect_of(s, "d1", State__Status="created", State__Pid=0)})
    eng.fail_start = {"abc": "task abc: already exists"}
    pred = reconcile.ensure_running(eng, "c1", s, "d1", test=True)
    out = reconcile.ensure_running(eng, "c1", s, "d1")
    assert out.result is True and out.changes == pred.changes == {
        "state": {"old": "created", "new": "running"}
    }
    assert out.comment == (
        "Container c1 started (made anew: Docker kept a task of an interrupted start)"
    )
    assert eng.written() == ["start", "remove_container", "create_container", "start"]
    assert (
        eng.writes[2][2]["environment"] == ["A=1"]
        and eng.writes[2][2]["labels"]["saltmesh.host"] == "d1"
    )
    assert reconcile.state_of(eng.containers["c1"]) == "running"


def test_a_failure_to_make_it_anew_reports_the_removal():
    s = spec()
    eng = engine_with(containers={"c1": inspect_of(s, State__Status="created", State__Pid=0)})
    eng.fail_start = {"abc": "task abc: already exists", "id-c1": "no space left on device"}
    out = reconcile.ensure_running(eng, "c1", s)
    assert out.result is False and out.changes == {"removed": "c1"}
    assert out.comment == (
        "Container c1 then failed: removed (Docker kept a task of an interrupted start), "
        "not made anew: Docker engine: no space left on device"
    )


@pytest.mark.parametrize(
    ("status", "message"),
    [("exited", "task abc: already exists"), ("created", "task other: already exists"),
     ("created", "cannot start: no such file")],
)  # fmt: skip
def test_other_start_failures_are_not_made_anew(status, message):
    s = spec()
    eng = engine_with(containers={"c1": inspect_of(s, State__Status=status, State__Pid=0)})
    eng.fail_start = {"abc": message}
    with pytest.raises(SaltmeshError, match=message):
        reconcile.ensure_running(eng, "c1", s)
    assert eng.written() == ["start"] and eng.containers["c1"]["Id"] == "abc"


def test_foreign_container_is_refused():
    data = inspect_of(spec())
    data["Config"]["Labels"] = {"from": "img"}
    eng = engine_with(containers={"c1": data})
    out = reconcile.ensure_running(eng, "c1", spec())
    assert out.result is False and "not managed by saltmesh; not touched" in out.comment
    assert reconcile.ensure_stopped(eng, "c1", False).result is False
    assert reconcile.ensure_absent(eng, "c1", False).comment.endswith("not removed")
    assert eng.writes == []


def test_missing_image_is_pulled_not_in_test_mode():
    eng = engine_with(images={})
    pred = reconcile.ensure_running(eng, "c1", spec(), test=True)
    assert pred.changes == {"created": "c1"} and eng.writes == []
    out = reconcile.ensure_running(eng, "c1", spec())
    assert out.comment == "Container c1 pulled image local/bb:1; created"
    assert eng.writes[0][:2] == ("pull", ("local/bb",)) and eng.writes[0][2]["tag"] == "1"

    # test mode, image not there yet: the container would be recreated from it
    eng = engine_with(images={}, containers={"c1": inspect_of(spec())})
    pred = reconcile.ensure_running(eng, "c1", spec(), test=True)
    assert pred.changes == {"image": {"old": "sha256:img", "new": REF}}


def test_attachment_after_start_and_bridges_checked_first():
    s = spec(networks=NETS)
    eng, att = engine_with(), FakeAttacher()
    out = reconcile.ensure_running(eng, "c1", s, test=False, attacher=att)
    assert att.ensured == [("c1", 100, False)]  # the PID of the started container
    assert out.changes["networks"] == {"eth0": {"old": "not attached", "new": {"bridge": "br0"}}}
    assert out.comment == "Container c1 created; network attachment restored"

    pred = reconcile.ensure_running(engine_with(), "c1", s, test=True, attacher=FakeAttacher())
    assert pred.comment == "Container c1 would be created; network attachment would be restored"

    eng = engine_with()
    with pytest.raises(SaltmeshError, match="bridge br0 does not exist"):
        reconcile.ensure_running(eng, "c1", s, attacher=FakeAttacher(bridges=()))
    assert eng.writes == []
    # no networks: the attacher is not asked at all (OVS may be absent)
    out = reconcile.ensure_running(eng, "c1", spec(), attacher=FakeAttacher(unreachable=True))
    assert out.changes == {"created": "c1"}


def test_stopped():
    s = spec()
    eng = engine_with(containers={"c1": inspect_of(s)})
    pred = reconcile.ensure_stopped(eng, "c1", True)
    assert pred.changes == {"state": {"old": "running", "new": "exited"}}
    assert pred.comment == "Container c1 would be stopped" and eng.writes == []
    assert (
        reconcile.ensure_stopped(eng, "c1", False, stop_timeout=3).comment == "Container c1 stopped"
    )
    assert eng.writes == [("stop", ("abc",), {"timeout": 3})]
    again = reconcile.ensure_stopped(eng, "c1", False)
    assert again.changes == {} and again.comment == "Container c1 is already exited"
    assert reconcile.ensure_stopped(eng, "nope", False).comment == "Container nope does not exist"


def test_absent():
    eng = engine_with(containers={"c1": inspect_of(spec())})
    assert reconcile.ensure_absent(eng, "c1", True).comment == "Container c1 would be removed"
    out = reconcile.ensure_absent(eng, "c1", False)
    assert out.changes == {"removed": "c1"} and eng.written() == ["remove_container"]
    assert reconcile.ensure_absent(eng, "c1", False).comment == "Container c1 is absent"


def test_removed_detaches_ports():
    eng = engine_with(containers={"c1": inspect_of(spec())})
    att = FakeAttacher(ports={"vsm1": "c1", "vsm2": "c2"})
    out = reconcile.ensure_removed(eng, "c1", False, att)
    assert out.changes == {"removed": "c1", "ports": {"removed": ["vsm1"]}}
    assert att.ports == {"vsm2": "c2"}
    # already gone, ports left behind: still cleaned
    att.ports["vsm3"] = "c1"
    out = reconcile.ensure_removed(eng, "c1", False, att)
    assert out.changes == {"ports": {"removed": ["vsm3"]}}


def test_removed_without_reachable_ovs():
    eng = engine_with(containers={"c1": inspect_of(spec())})
    out = reconcile.ensure_removed(eng, "c1", True, FakeAttacher(unreachable=True))
    assert out.changes == {"removed": "c1"}
    with pytest.raises(CommandError):
        reconcile.ensure_removed(eng, "c1", True, FakeAttacher(unreachable=True), True)
    assert reconcile.ensure_removed(eng, "c1", True, None).changes == {"removed": "c1"}


def test_pid_of():
    assert reconcile.pid_of({"State": {"Pid": 7}}) == 7
    assert reconcile.pid_of({"State": {}}) == 0 and reconcile.pid_of({}) == 0
