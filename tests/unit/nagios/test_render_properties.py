"""Property-based tests of the Nagios renderer (Hypothesis): for any valid pillar,

- rendering is deterministic and does not depend on the order of mapping keys or of set-like
  lists (``parents``, ``hostgroups``, ``contacts``...): byte-identical files;
- render -> parse gives back exactly the objects that were built, and a plan against the
  rendered files is empty (apply-then-diff is empty);
- a change of one directive shows as exactly that change in the object diff.

The pillars include default services built in, switched off or the pillar's own, servers that
replace one of them, and ``null`` entries that leave a service out.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltmesh import inventory
from saltmesh.nagios.build import build_objects
from saltmesh.nagios.objects import MainConfig
from saltmesh.nagios.plan import make_plan
from saltmesh.nagios.render import diff_objects, objects_of_files, render_files
from saltmesh.nagios.settings import parse_settings
from saltmesh.nagios.tree import Tree
from tests.unit.nagios.sample import KNOWN

pytestmark = pytest.mark.reliability

CONF = "/etc/nagios4/conf.d/saltmesh"
MAIN = MainConfig.parse("/etc/nagios4/nagios.cfg", "cfg_dir=conf.d\n")
SETTINGS = dict(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])

_word = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=8).filter(
    lambda s: s[0].isalnum()
)
_groups = st.lists(st.sampled_from(["web", "db", "linux-servers", "edge", "ops-a"]), max_size=4)
_contacts = st.lists(st.sampled_from(["alice", "bob", "ops", "admins"]), max_size=3)
_descriptions = st.sampled_from(
    ["HTTP", "Current Load", "Disk /", "SSH", "PING", "Total Procs", "Users", "Salt minion"]
)  # the last two replace (or, null, leave out) the default services of the same name
_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).filter(
    lambda v: not set(v) & set(";#\\`$")
)


@st.composite
def pillars(draw) -> dict:
    names = draw(st.lists(_word, min_size=1, max_size=6, unique_by=str.lower))
    servers = {}
    for i, name in enumerate(names):
        server = {
            "node_type": "server",
            "address": f"10.{i // 250}.{i % 250}.{draw(st.integers(1, 254))}",
        }
        earlier = names[:i] + ["handmade-gw"]
        parents = draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
        if parents:
            server["parents"] = parents
        if draw(st.booleans()):
            server["hostgroups"] = draw(_groups)
        if draw(st.booleans()):
            server["use"] = draw(st.lists(st.sampled_from(["linux-server", "generic-host"]),
                                          min_size=1, max_size=2, unique=True))  # fmt: skip
        if draw(st.booleans()):
            server["alias"] = draw(_values.filter(lambda v: v.strip() == v and v))
        services = {}
        for desc in draw(st.lists(_descriptions, max_size=3, unique=True)):
            if draw(st.integers(0, 4)) == 0:
                services[desc] = None  # left out
                continue
            directives = {"check_command": draw(st.sampled_from(["check_http", "check_nrpe!x"]))}
            if draw(st.booleans()):
                directives["contacts"] = ",".join(draw(_contacts))
            if draw(st.booleans()):
                directives["notes"] = draw(_values)
            if draw(st.booleans()):
                directives["use"] = draw(st.sampled_from(["generic-service", "local-service"]))
            services[desc] = directives
        if services:
            server["services"] = services
        servers[name] = server
    nagios = {"conf_dir": CONF}
    defaults = draw(st.sampled_from(["built-in", "none", "own"]))
    if defaults == "none":
        nagios["default_services"] = {}
    elif defaults == "own":
        nagios["default_services"] = {
            "SSH": {"check_command": "check_ssh", "contacts": ",".join(draw(_contacts))},
            "Users": {"check_command": "check_nrpe!check_users", "notes": draw(_values)},
        }
    if draw(st.booleans()):
        nagios["slack"] = {"webhook_url": "https://hooks.example/services/T/B/X"}
        if draw(st.booleans()):
            nagios["slack"]["channel"] = "#ops"
    return {"saltmesh": {"nagios": nagios}, "servers": servers}


def build(data: dict):
    settings_ = parse_settings(data)
    inv = inventory.parse(data, external_hosts=KNOWN.hosts)
    return build_objects(inv, settings_, KNOWN, "")


def reorder(value, rng: random.Random):
    """The same pillar as a user could write it: mapping keys and set-like lists in any order,
    comma lists respaced; ``use`` keeps its order (the first template wins in Nagios)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        out = {}
        for k in keys:
            v = value[k]
            if k in ("parents", "hostgroups") and isinstance(v, list):
                v = rng.sample(v, len(v)) + (v[:1] if v and rng.random() < 0.3 else [])
            elif k == "contacts" and isinstance(v, str):
                parts = v.split(",") if v else []
                v = ", ".join(rng.sample(parts, len(parts)))
            out[k] = reorder(v, rng)
        return out
    return value


@settings(**SETTINGS)
@given(data=pillars(), seed=st.integers(0, 2**32))
def test_render_is_deterministic_and_order_independent(data, seed):
    files = render_files(build(data))
    assert render_files(build(data)) == files
    assert render_files(build(reorder(data, random.Random(seed)))) == files


@settings(**SETTINGS)
@given(data=pillars())
def test_render_parse_roundtrip_and_apply_then_diff_is_empty(data):
    objects = build(data)
    files = render_files(objects)
    parsed = objects_of_files(files)
    assert parsed == {o.key: dict(o.directives) for o in objects}
    assert diff_objects(parsed, parsed) == {}
    tree = Tree(owned=dict(files), covering={"/etc/nagios4/conf.d": []})
    p = make_plan(parse_settings(data), data, MAIN, tree, KNOWN)
    assert p.empty and p.changes == {} and p.rendered == files


@settings(**SETTINGS)
@given(data=pillars(), alias=_values.filter(lambda v: v.strip() == v and v))
def test_one_changed_directive_is_exactly_the_diff(data, alias):
    first = next(iter(data["servers"]))
    before = objects_of_files(render_files(build(data)))
    old = data["servers"][first].get("alias")
    data["servers"][first]["alias"] = alias
    after = objects_of_files(render_files(build(data)))
    if old == alias:
        assert diff_objects(before, after) == {}
    else:
        assert diff_objects(before, after) == {
            "updated": {f"host {first}": {"alias": {"old": old, "new": alias}}}
        }
