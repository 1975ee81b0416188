"""Values in ovs-vsctl syntax and the map diff."""

import pytest

from saltmesh.ovs.values import diff_map, fmt_value, quote


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("10.0.0.1", '"10.0.0.1"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("x y,z=1", '"x y,z=1"'),
        (True, "true"),
        (5, "5"),
        (["OpenFlow13", "OpenFlow10"], '["OpenFlow10","OpenFlow13"]'),
        ({"b": 1, "a": True}, '{"a"="true","b"="1"}'),
    ],
)
def test_fmt_value_quotes_for_ovs_vsctl(value, text):
    assert fmt_value(value) == text


def test_quote_is_json_string():
    assert quote("-- del-br br0") == '"-- del-br br0"'


def test_diff_map_exact_sets_changed_and_removes_stale():
    clauses, changes = diff_map(
        "Interface", "p", "options", {"remote_ip": "10.0.0.3", "key": "5"},
        {"remote_ip": "10.0.0.2", "key": "5", "df_default": "false"},
    )  # fmt: skip
    assert clauses == [
        ("remove", "Interface", "p", "options", '"df_default"'),
        ("set", "Interface", "p", 'options:remote_ip="10.0.0.3"'),
    ]
    assert changes == {
        "options": {
            "old": {"df_default": "false", "key": "5", "remote_ip": "10.0.0.2"},
            "new": {"key": "5", "remote_ip": "10.0.0.3"},
        }
    }


def test_diff_map_empty_means_clear_none_means_leave():
    assert diff_map("Port", "p", "external_ids", {}, {"a": "1"})[0] == [
        ("remove", "Port", "p", "external_ids", '"a"')
    ]
    assert diff_map("Port", "p", "external_ids", None, {"a": "1"}) == ([], {})
    assert diff_map("Port", "p", "external_ids", {"a": "1"}, {"a": "1"}) == ([], {})


def test_diff_map_key_by_key():
    clauses, changes = diff_map(
        "Open_vSwitch", ".", "other_config", {"foo": "bar", "gone": None, "absent": None},
        {"gone": "1", "keep": "2"}, exact=False,
    )  # fmt: skip
    assert clauses == [
        ("remove", "Open_vSwitch", ".", "other_config", '"gone"'),
        ("set", "Open_vSwitch", ".", 'other_config:foo="bar"'),
    ]
    assert changes == {
        "other_config": {"old": {"foo": None, "gone": "1"}, "new": {"foo": "bar", "gone": None}}
    }


def test_odd_map_keys_are_quoted():
    clauses, _ = diff_map("Interface", "p", "external_ids", {"a b": 'x"y'}, {})
    assert clauses == [("set", "Interface", "p", 'external_ids:"a b"="x\\"y"')]
