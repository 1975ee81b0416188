"""The fleet file, sliced per minion: the core of the ``saltmesh_fleet`` ext_pillar (pure).

A fleet file holds the ``servers`` and ``saltmesh`` pillar of the whole fleet. It is read,
validated and indexed once per change (:func:`cached`, keyed by each file's mtime and size);
then each minion gets only what its states read (:func:`slice_for`, docs/scale.md):

* a docker host: its own entry, its containers (an app's template when one of the app's
  instances runs there, with the placement and pool records of those instances), and every
  other docker host as a *stub* (``node_type``, ``address``, ``minion_id``: the mesh plan
  needs every peer's underlay address); with ``saltmesh:mesh:topology: flow``, also the MAC
  of every container elsewhere, by host, in ``saltmesh:mesh:macs`` (the host's OpenFlow rules
  send each MAC to its host: that is all they need of other hosts' containers);
* a container or other server: its own entry and a stub of each of its parents;
* a Nagios server (``saltmesh:nagios:servers``) and the ids in ``whole`` (the runners compile
  pillar as ``*``): everything;
* every minion: the ``saltmesh`` key (``placement`` and ``allocations`` cut down to its own
  containers, without the placement runner's ``placement_hosts``, ``placement_weights`` and
  ``placement_capacity``) and a stub of each Nagios server named in ``servers`` (NRPE allows
  their addresses).

Docker hosts get the whole fleet when their states need every container: with discovery on
(each dnsmasq answers for every name; DHCP addresses are allocated over all names) and when
``saltmesh:containers:prune`` is not ``true`` or ``prune_max`` is set (a container moved to
another host is then treated apart from a dropped one, so each host must know where all went).

Stubs drop ``parents``, ``services`` and the rest: Nagios, the only reader of those, is given
the whole fleet. A slice therefore parses with :func:`saltmesh.inventory.parse` and gives the
same mesh plan and the same declared containers as the whole fleet (tests/unit/test_fleet.py).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from saltmesh import inventory
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.inventory import Inventory
from saltmesh.mesh.flowplan import known_macs
from saltmesh.nagios import settings as nagios_settings

WHOLE_DEFAULT = ("*",)  # the id the runners compile pillar as (saltmesh_pillar_minion)
_RECORDS = ("placement", "allocations")  # saltmesh keys cut down to a minion's containers
# saltmesh keys only the placement runner reads (one entry per docker host): left out of slices
RUNNER_ONLY = ("placement_hosts", "placement_weights", "placement_capacity")


class FleetError(SaltmeshError):
    """The fleet file cannot be read or is invalid; the message names the file."""


@dataclass(frozen=True)
class Fleet:
    """A validated fleet and what :func:`slice_for` needs, computed once."""

    raw: Mapping[str, Any]  # {"servers": ..., "saltmesh": ...} as read
    inv: Inventory
    nagios: tuple[str, ...]  # saltmesh:nagios:servers
    whole_for_hosts: str  # why docker hosts get everything ("" when they get a slice)
    members: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # host -> containers
    by_minion: Mapping[str, str] = field(default_factory=dict)  # minion id -> server name
    macs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # flow: host -> MACs


def load(paths: Sequence[str]) -> dict[str, Any]:
    """The fleet files read and merged in order (mappings merged key by key, the later file
    wins otherwise): e.g. the fleet, then the file ``placement.apply`` writes."""
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except OSError as err:
            raise FleetError(f"{path}: cannot read: {err.strerror or err}") from None
        except yaml.YAMLError as err:
            raise FleetError(f"{path}: not valid YAML: {err}") from None
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise FleetError(
                f"{path}: must be a mapping (servers, saltmesh), got {type(data).__name__}"
            )
        _merge(merged, data)
    return merged


def _merge(dst: dict, src: Mapping) -> None:
    for key, value in src.items():
        if isinstance(value, Mapping) and isinstance(dst.get(key), dict):
            _merge(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value) if isinstance(value, Mapping) else value


def index(raw: Mapping[str, Any]) -> Fleet:
    """Validate ``raw`` as the whole pillar (raises PillarError) and index it for slicing."""
    inv = inventory.parse(raw)
    nagios = nagios_settings.parse_settings(raw).servers
    why = ""
    if inv.discovery.enabled:
        why = "discovery is on (every dnsmasq answers for every name)"
    elif inv.containers.prune is not True or inv.containers.prune_max is not None:
        why = "saltmesh:containers:prune is not true or prune_max is set"
    members: dict[str, list[str]] = {}
    for server in inv.by_type("container"):
        if server.parents:
            members.setdefault(server.parents[0], []).append(server.name)
    by_minion = {s.minion_id: name for name, s in inv.servers.items()}
    macs: dict[str, list[str]] = {}
    if inv.mesh.topology == "flow":
        for mac, host in known_macs(inv, (h.name for h in inv.docker_hosts)):
            macs.setdefault(host, []).append(mac)
    return Fleet(
        raw=raw,
        inv=inv,
        nagios=nagios,
        whole_for_hosts=why,
        members={h: tuple(names) for h, names in members.items()},
        by_minion=by_minion,
        macs={h: tuple(m) for h, m in macs.items()},
    )


def _stub(fleet: Fleet, name: str) -> dict[str, Any] | None:
    """What a peer must show for a slice to parse: a docker host stays one (the mesh needs
    its underlay address); anything else becomes a plain server with its address."""
    server = fleet.inv.servers.get(name)
    if server is None or not server.address:
        return None
    kind = "docker_host" if server.node_type == "docker_host" else "server"
    stub: dict[str, Any] = {"node_type": kind, "address": server.address}
    if server.minion_id != name:
        stub["minion_id"] = server.minion_id
    return stub


def _mac_table(fleet: Fleet, me: str) -> dict[str, list[str]]:
    """``saltmesh:mesh:macs`` for docker host ``me`` with topology flow: every MAC its rules
    name, by host, except its own containers' (which its slice holds)."""
    listed_here = {mac for mac, host in fleet.inv.mesh.macs if host == me}  # by hand: kept
    table = {}
    for host, macs in fleet.macs.items():
        keep = [m for m in macs if host != me or m in listed_here]
        if keep:
            table[host] = keep
    return table


def _whole(fleet: Fleet) -> dict[str, Any]:
    return copy.deepcopy(dict(fleet.raw))


def is_whole(fleet: Fleet, minion_id: str, whole: Iterable[str] = WHOLE_DEFAULT) -> bool:
    """Whether ``minion_id`` gets the whole fleet: listed in ``whole``, a Nagios server (by
    id or by name), or a docker host when :attr:`Fleet.whole_for_hosts` says so."""
    name = fleet.by_minion.get(minion_id)
    if minion_id in set(whole) or minion_id in fleet.nagios or (name and name in fleet.nagios):
        return True
    server = fleet.inv.servers.get(name) if name else None
    return bool(server and server.node_type == "docker_host" and fleet.whole_for_hosts)


def slice_for(fleet: Fleet, minion_id: str, whole: Iterable[str] = WHOLE_DEFAULT) -> dict:
    """The pillar ``minion_id`` gets: ``servers`` and ``saltmesh`` (see the module doc)."""
    if is_whole(fleet, minion_id, whole):
        return _whole(fleet)
    raw_servers: Mapping[str, Any] = fleet.raw.get("servers") or {}
    raw_saltmesh: Mapping[str, Any] = fleet.raw.get("saltmesh") or {}
    servers: dict[str, Any] = {}
    stubs: set[str] = set()
    mine: list[str] = []  # containers whose placement and pool records come along
    name = fleet.by_minion.get(minion_id)
    me = fleet.inv.servers.get(name) if name else None
    if me is not None:
        mine = list(fleet.members.get(me.name, ())) if me.node_type == "docker_host" else []
        if me.node_type == "container":
            mine.append(me.name)
        if me.node_type == "docker_host":
            stubs.update(s.name for s in fleet.inv.docker_hosts)
        for member in mine:
            entry = fleet.inv.servers[member].app or member
            servers[entry] = copy.deepcopy(raw_servers[entry])
        own = me.app or me.name  # an app's instance: the app's entry
        servers[own] = copy.deepcopy(raw_servers[own])
        kept = [p for p in me.parents if _stub(fleet, p) is not None]
        if me.node_type != "container" and len(kept) != len(me.parents):
            servers[own]["parents"] = kept  # a parent with nothing to stand for it
        stubs.update(kept)
    stubs.update(n for n in fleet.nagios if n in fleet.inv.servers)
    for peer in sorted(stubs - set(servers)):
        stub = _stub(fleet, peer)
        if stub is not None:
            servers[peer] = stub
    saltmesh = {
        k: copy.deepcopy(v)
        for k, v in raw_saltmesh.items()
        if k not in _RECORDS and k not in RUNNER_ONLY
    }
    for key in _RECORDS:
        records = raw_saltmesh.get(key)
        if isinstance(records, Mapping):
            saltmesh[key] = {n: copy.deepcopy(records[n]) for n in mine if n in records}
    if me is not None and me.node_type == "docker_host" and fleet.macs:
        saltmesh["mesh"] = {**saltmesh.get("mesh", {}), "macs": _mac_table(fleet, me.name)}
    out: dict[str, Any] = {"servers": servers}
    if "saltmesh" in fleet.raw:
        out["saltmesh"] = saltmesh
    return out


# --------------------------------------------------------------------------- the master's cache

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, ...], tuple[tuple, Fleet | FleetError]] = {}


def _stat_key(paths: Sequence[str]) -> tuple:
    key = []
    for path in paths:
        try:
            st = os.stat(path)
            key.append((path, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError as err:
            key.append((path, err.errno))
    return tuple(key)


def cached(paths: Sequence[str]) -> Fleet:
    """The fleet of ``paths``, read and validated again only when a file's mtime, size or
    inode changed (the master process keeps it). Raises FleetError naming the files."""
    paths = tuple(paths)
    key = _stat_key(paths)
    with _LOCK:
        hit = _CACHE.get(paths)
        if hit is not None and hit[0] == key:
            found = hit[1]
        else:
            try:
                found = index(load(paths))
            except FleetError as err:
                found = err
            except PillarError as err:
                found = FleetError(f"{', '.join(paths)}: {err}")
            _CACHE[paths] = (key, found)
    if isinstance(found, FleetError):
        raise found
    return found


def ext_pillar_data(
    minion_id: str, paths: Sequence[str], whole: Iterable[str] = WHOLE_DEFAULT
) -> dict[str, Any]:
    """What the ext_pillar returns: the minion's slice, or ``{"_errors": [...]}`` (Salt then
    refuses to run states, and ``pillar.items`` shows why) when a file is bad."""
    if not paths:
        return {"_errors": ["saltmesh_fleet: no fleet file configured (path: or paths:)"]}
    try:
        return slice_for(cached(paths), minion_id, whole)
    except FleetError as err:
        return {"_errors": [f"saltmesh_fleet: {err}"]}
