"""A failed step never loses a container that could keep running, and never hides what was done."""

from __future__ import annotations

import pytest

from saltmesh.containers import reconcile
from saltmesh.containers.engine import EngineError
from saltmesh.errors import SaltmeshError
from tests.unit.containers.fakes import IMAGE, FakeAttacher, FakeEngine, inspect_of, spec

pytestmark = pytest.mark.reliability

REF = "local/bb:1"
NETS = [{"bridge": "br0", "ip": "10.0.0.2/24"}]
OLD = spec(command=["sleep", "1"], memory="64m", networks=NETS)


class Flaky(FakeEngine):
    """Fails ``method`` for the container the run creates (or the old one) with an engine error.

    A refused call is not recorded in ``writes`` (it wrote nothing).
    """

    def __init__(self, fail_new=(), fail_old=(), **kw):
        super().__init__(images={REF: IMAGE}, **kw)
        self.fail_new, self.fail_old = set(fail_new), set(fail_old)

    def call(self, method, *args, **kwargs):
        ref = args[0] if args else kwargs.get("name")
        if method in self.fail_new and (method == "create_container" or ref == "id-c1"):
            raise EngineError(f"Docker engine: {method} refused")
        if method in self.fail_old and ref == "abc":
            raise EngineError(f"Docker engine: {method} of the old one refused")
        return super().call(method, *args, **kwargs)


class PidAttacher(FakeAttacher):
    """Reports a re-attachment only when the container's PID is not the one attached (42)."""

    def ensure(self, container, networks, pid, test):
        changes = super().ensure(container, networks, pid, test)
        return {} if pid == 42 else changes


def running_old(**kw):
    return Flaky(containers={"c1": inspect_of(OLD, "d1")}, **kw)


def test_create_fails_old_container_keeps_running_untouched():
    eng = running_old(fail_new={"create_container"})
    att = PidAttacher()
    out = reconcile.ensure_running(eng, "c1", spec(command=["sleep", "2"], networks=NETS), "d1",
                                   attacher=att)  # fmt: skip
    assert out.result is False and out.changes == {}
    assert out.comment == (
        "Container c1 not recreated (command differ): Docker engine: create_container refused; "
        "kept the old container"
    )
    assert eng.written() == ["rename", "rename"]  # aside and back; never stopped
    assert list(eng.containers) == ["c1"] and eng.containers["c1"]["Id"] == "abc"
    assert reconcile.state_of(eng.containers["c1"]) == "running"
    assert att.ensured == [("c1", 42, False)]  # its attachment is checked (intact: same PID)


def test_start_fails_old_container_is_restored_and_reattached():
    eng = running_old(fail_new={"start"})
    att = PidAttacher()
    out = reconcile.ensure_running(eng, "c1", spec(command=["sleep", "2"], networks=NETS), "d1",
                                   attacher=att)  # fmt: skip
    assert out.result is False
    assert eng.written() == [
        "rename", "create_container", "stop", "remove_container", "rename", "start",
    ]  # fmt: skip
    assert list(eng.containers) == ["c1"] and eng.containers["c1"]["Id"] == "abc"
    assert reconcile.state_of(eng.containers["c1"]) == "running"
    # it restarted (new PID): the attachment is redone and reported, the failure named
    assert att.ensured == [("c1", 100, False)]
    assert set(out.changes) == {"networks"}
    assert out.comment == (
        "Container c1 not recreated (command differ): Docker engine: start refused; kept the "
        "old container; network attachment restored"
    )


def test_stopped_old_container_is_not_stopped_nor_restarted_by_the_rollback():
    data = inspect_of(OLD, "d1", State__Status="exited", State__Pid=0)
    eng = Flaky(containers={"c1": data}, fail_new={"start"})
    out = reconcile.ensure_running(eng, "c1", spec(command=["sleep", "2"]), "d1")
    # rollback: the new one removed, the name back; then, as declared, the old one is started
    assert eng.written() == ["rename", "create_container", "remove_container", "rename", "start"]
    assert eng.writes[-1][1] == ("abc",)
    assert out.result is False and out.changes == {"state": {"old": "exited", "new": "running"}}
    assert list(eng.containers) == ["c1"] and eng.containers["c1"]["Id"] == "abc"


def test_rollback_failure_says_where_the_old_container_is():
    eng = running_old(fail_new={"start"})
    # the first rename (aside) works, the rename back fails
    real_call = eng.call

    def call(method, *args, **kwargs):
        if method == "rename" and args[1] == "c1":
            raise EngineError("Docker engine: rename refused")
        return real_call(method, *args, **kwargs)

    eng.call = call
    out = reconcile.ensure_running(eng, "c1", spec(command=["sleep", "2"]), "d1")
    assert out.result is False
    assert out.changes == {"renamed": {"old": "c1", "new": "c1.saltmesh-old"}}
    assert "it is kept as c1.saltmesh-old" in out.comment
    assert "\n" not in out.comment


def test_recreate_then_failed_attach_still_reports_the_recreate():
    class Broken(FakeAttacher):
        def ensure(self, container, networks, pid, test):
            raise SaltmeshError(f"container {container}: ip link add failed")

    eng = running_old()
    out = reconcile.ensure_running(eng, "c1", spec(command=["sleep", "2"], networks=NETS), "d1",
                                   attacher=Broken())  # fmt: skip
    assert out.result is False
    assert out.changes == {"command": {"old": ["sleep", "1"], "new": ["sleep", "2"]}}
    assert out.comment == (
        "Container c1 recreated (command differ); then failed: container c1: ip link add failed"
    )
    assert eng.containers["c1"]["Id"] == "id-c1"  # the recreate happened


def test_created_then_failed_start_reports_the_creation():
    eng = Flaky(fail_new={"start"})
    out = reconcile.ensure_running(eng, "c1", spec(), "d1")
    assert out.result is False and out.changes == {"created": "c1"}
    assert out.comment == "Container c1 created; then failed: Docker engine: start refused"


def test_nothing_written_errors_are_raised_not_half_reported():
    eng = Flaky(fail_new={"create_container"})
    with pytest.raises(EngineError, match="create_container refused"):
        reconcile.ensure_running(eng, "c1", spec(), "d1")


def test_recreate_keeps_what_the_state_omits():
    eng = running_old()
    want = spec(command=["sleep", "2"])  # memory omitted: the old 64m stays
    out = reconcile.ensure_running(eng, "c1", want, "d1")
    assert out.result and list(out.changes) == ["command"]
    create = next(kw for m, _, kw in eng.writes if m == "create_container")
    assert create["host_config"]["Memory"] == 64 * 1024**2
    assert create["command"] == ["sleep", "2"]


def test_interrupted_recreate_is_finished():
    aside = inspect_of(OLD, "d1")
    eng = Flaky(containers={"c1.saltmesh-old": aside})
    pred = reconcile.ensure_running(eng, "c1", OLD, "d1", test=True)
    assert pred.changes == {"restored": {"old": "c1.saltmesh-old", "new": "c1"}}
    assert eng.writes == []
    out = reconcile.ensure_running(eng, "c1", OLD, "d1")
    assert out.changes == pred.changes and out.result
    assert out.comment == "Container c1 restored from c1.saltmesh-old (an interrupted recreate)"
    assert eng.written() == ["rename"] and list(eng.containers) == ["c1"]


def test_removed_then_unreachable_ovs_still_reports_the_removal():
    eng = running_old()
    out = reconcile.ensure_removed(eng, "c1", False, FakeAttacher(unreachable=True), True)
    assert out.result is False and out.changes == {"removed": "c1"}
    assert out.comment.startswith("Container c1 removed; then failed to remove its OVS ports:")
    assert eng.containers == {}


def test_placed_keeps_its_changes_when_the_port_prune_fails():
    from saltmesh.containers import placed

    class PruneFails(FakeAttacher):
        def prune(self, keep, test):
            raise SaltmeshError("ovs-vsctl failed (exit 1): database connection failed")

    eng = Flaky()
    out = placed.ensure_placed(eng, {"c1": spec(networks=NETS)}, "d1", False, PruneFails())
    assert out.result is False and out.changes["c1"]["created"] == "c1"
    assert out.comment.endswith(
        "FAILED: orphan ports: ovs-vsctl failed (exit 1): database connection failed"
    )


def test_a_leftover_of_an_earlier_recreate_does_not_block_the_next_one():
    eng = Flaky(containers={"c1": inspect_of(OLD, "d1"),
                            "c1.saltmesh-old": {**inspect_of(OLD, "d1"), "Id": "older"}})  # fmt: skip
    out = reconcile.ensure_running(eng, "c1", spec(command=["sleep", "2"]), "d1")
    assert out.result and list(eng.containers) == ["c1"]
    assert out.changes["leftover"] == {"old": "c1.saltmesh-old", "new": None}
    assert eng.written()[:2] == ["remove_container", "rename"]
