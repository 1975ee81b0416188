"""The wording of the OVS state returns."""

from saltmesh.ovs.wording import ovs_ret


def test_state_ret_wording():
    assert ovs_ret("p", "Port", {})["comment"] == "Port p is already as requested"
    created = {"port": {"old": None, "new": "p"}}
    assert ovs_ret("p", "Port", created, test=True) == {
        "name": "p", "result": None, "comment": "Port p would be created", "changes": created,
    }  # fmt: skip
    assert ovs_ret("p", "Port", {"port": {"old": "p", "new": None}})["comment"] == "Port p removed"
    assert ovs_ret("p", "Port", {"tag": {"old": 1, "new": 2}})["comment"] == "Port p updated"
    assert ovs_ret("p", "Port", error="boom") == {
        "name": "p",
        "result": False,
        "comment": "boom",
        "changes": {},
    }


def test_state_ret_passes_on_interface_errors():
    ret = ovs_ret(
        "p1", "Port", {}, iface_errors={"p1": "could not open network device p1 (No such device)"}
    )
    assert ret["result"] is True
    assert ret["comment"] == (
        "Port p1 is already as requested; OVS reports p1: could not open network device p1 (No such device)"
    )


def test_record_label_and_test_mode_in_sync():
    changes = {"other_config": {"old": {"a": None}, "new": {"a": "1"}}}
    ret = ovs_ret("state-id", "Record", changes, test=True, label="Open_vSwitch .")
    assert ret == {
        "name": "state-id",
        "result": None,
        "changes": changes,
        "comment": "Record Open_vSwitch . would be updated",
    }
    assert ovs_ret("p", "Port", {}, test=True)["result"] is True
    assert ovs_ret("b", "Bridge", {"bridge": {"old": "b", "new": None}}, test=True)["comment"] == (
        "Bridge b would be removed"
    )
