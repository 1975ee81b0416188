"""The diff of any record's columns (``ovs_db.managed``)."""

import pytest

from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.record import diff_record


def test_diff_record():
    have = {"other_config": {"a": "1"}, "fail_mode": [], "mcast_snooping_enable": False,
            "flood_vlans": [], "stp_enable": True, "datapath_id": "x"}  # fmt: skip
    data = {"other_config": {"a": "1", "b": 2}, "fail_mode": "secure", "mcast_snooping_enable": "true",
            "flood_vlans": [10, 20], "stp_enable": True, "datapath_id": None}  # fmt: skip
    clauses, changes = diff_record("Bridge", "br0", data, have)
    assert clauses == [
        ("set", "Bridge", "br0", 'other_config:b="2"'),
        ("set", "Bridge", "br0", 'fail_mode="secure"'),
        ("set", "Bridge", "br0", "mcast_snooping_enable=true"),
        ("set", "Bridge", "br0", "flood_vlans=[10,20]"),
        ("clear", "Bridge", "br0", "datapath_id"),
    ]
    assert changes["other_config"] == {"old": {"b": None}, "new": {"b": "2"}}
    assert changes["fail_mode"] == {"old": None, "new": "secure"}
    after = {"other_config": {"a": "1", "b": "2"}, "fail_mode": "secure", "mcast_snooping_enable": True,
             "flood_vlans": [10, 20], "stp_enable": True, "datapath_id": []}  # fmt: skip
    assert diff_record("Bridge", "br0", data, after) == ([], {})


def test_diff_record_errors():
    with pytest.raises(SpecError, match="no column nope"):
        diff_record("Bridge", "br0", {"nope": 1}, {"name": "br0"})
    with pytest.raises(SpecError, match="not a map"):
        diff_record("Bridge", "br0", {"name": {"a": 1}}, {"name": "br0"})


@pytest.mark.parametrize(
    ("have", "want", "same"),
    [
        (True, True, True),
        (True, "true", True),
        (False, "True", False),
        (True, 1, False),
        (5, "5", True),
        (5, 5, True),
        (5, 6, False),
        ("secure", "secure", True),
        ("2048", 2048, True),
        ([], "x", False),
    ],
)
def test_record_scalar_comparison(have, want, same):
    clauses, _ = diff_record("T", "r", {"c": want}, {"c": have})
    assert (clauses == []) is same
