"""The operator's day, end to end (issue 10): the steps ``make demo`` shows, on the same lab.

One :class:`demo.day.Day` for the module: a real salt-master with the reactor of
``salt/reactor/mesh_join.sls``, three docker hosts (network namespaces, own OVS and minion),
nagios01 (a minion, and nagios4 in a namespace of its own), a webhook receiver for Slack, the
containers of ``pillar.example`` on the machine's dockerd. Each test runs one step and asserts
its facts with :mod:`demo.checks`, the checks ``make demo`` runs too:

1. ``mesh.plan`` gives every docker host a tunnel to each other one; ``placement.plan`` pins
   web01/db01 and hashes cache01, ``placement.apply`` writes it; ``mesh.graph`` draws an SVG.
2. ``salt '*' state.apply`` from the master succeeds on all four minions; the second run
   changes nothing.
3. Every container pings every container on another host (exit status 0 and 3 replies of 3).
4. Nagios' own data (objects.cache, status.dat), after checks nagios4 ran itself: every server
   and container UP, each container's parent the docker host whose OVS carries its port.
5. ``docker stop``: Nagios says DOWN (hard), the webhook gets a PROBLEM naming it; resumed, the
   heal schedule starts it again, Nagios says UP, the webhook gets the RECOVERY.
6. A tunnel port deleted and a container removed by hand come back through the scheduled
   highstate alone, within a bound; the port has its options, the container its port on the
   right host, a ping crosses the repaired tunnel, ``mesh.verify`` finds nothing.
7. docker04's minion starts; the reactor's ``mesh.join`` (heal schedules paused) has every
   host apply its share: each peer has its tunnel to docker04, docker04 three, containers on
   every old host ping across the new tunnels.
8. mon01, a container that is a minion (``saltmesh/minion`` image): started by
   ``state.sls containers``, its key accepted through its docker host's announcement (no
   ``auto_accept``); Nagios has it under docker03, its default NRPE services CRITICAL (hard),
   the webhook gets a PROBLEM each; ``salt mon01 state.sls nagios.nrpe``; OK, RECOVERY each.

A step that fails makes the later ones fail at once (they build on it).
"""

from __future__ import annotations

import shutil

import pytest

from demo import checks
from demo.day import Day
from tests.support import docker as dk
from tests.support.nagios import have_nagios
from tests.support.ovs import have_ovs


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    if not have_ovs() or not shutil.which("nft") or not shutil.which("dot"):
        pytest.skip("needs Open vSwitch, nftables and Graphviz")
    if not dk.have_docker():
        pytest.skip("needs a Docker engine and busybox-static")
    if not have_nagios():
        pytest.skip("needs nagios4")
    with Day(svg=tmp_path_factory.mktemp("day") / "mesh.svg") as d:
        d.failed = None
        yield d


def step(day: Day, name: str):
    if day.failed:
        pytest.fail(f"step {day.failed!r} failed before; {name!r} builds on it")
    try:
        facts = getattr(day, name)()
        checks.BY_STEP[name](facts, day)
    except BaseException:
        day.failed = name
        raise
    return facts


def test_1_plan_placement_and_graph(day):
    step(day, "plan")


def test_2_highstate_from_the_master_then_nothing_to_do(day):
    step(day, "apply")


def test_3_containers_reach_each_other_across_hosts(day):
    step(day, "matrix")


def test_4_nagios_reports_every_host_under_its_real_parent(day):
    step(day, "nagios_view")


def test_5_stopped_container_is_down_in_nagios_and_slack_hears_it(day):
    step(day, "stop_container")


def test_6_scheduled_highstate_repairs_drift_with_no_command(day):
    step(day, "drift")


def test_7_new_docker_host_is_meshed_by_the_reactor(day):
    step(day, "join")


def test_8_a_container_minion_goes_critical_then_recovers_with_nagios_nrpe(day):
    step(day, "container_minion")
