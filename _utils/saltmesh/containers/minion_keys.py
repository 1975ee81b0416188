"""Which announced minion keys the master accepts (pure): the ``minion_keys.accept`` runner.

A docker host announces the public keys it made for its minion containers
(:mod:`saltmesh.containers.minion`). The master accepts a key only when the announcing minion
is a docker host of the ``servers`` pillar and the key's id is the ``minion_id`` of a container
the pillar places on that host with ``container:minion``. An accepted key is never replaced:
a different key already accepted (or rejected) for that id is refused until an operator deletes
it (``salt-key -d <id>``). A pending key (anyone may knock) is replaced by the announced one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from saltmesh.containers.placed import docker_host_of
from saltmesh.inventory import Inventory

PUBLIC_KEY_HEADS = ("-----BEGIN PUBLIC KEY-----", "-----BEGIN RSA PUBLIC KEY-----")


@dataclass
class KeyPlan:
    """What the master does with the announced keys."""

    accept: dict[str, str] = field(default_factory=dict)  # minion id -> public key
    current: list[str] = field(default_factory=list)  # already accepted, same key
    refused: dict[str, str] = field(default_factory=dict)  # minion id -> why

    def summary(self) -> dict[str, Any]:
        return {
            "accepted": sorted(self.accept),
            "current": sorted(self.current),
            "refused": dict(sorted(self.refused.items())),
        }


def minion_containers(inv: Inventory, host: str) -> dict[str, str]:
    """Minion id -> container name, for the minion containers placed on docker host ``host``."""
    return {
        s.container.minion.id: s.name
        for s in inv.containers_on(host)
        if s.container is not None and s.container.minion is not None
    }


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.strip() == b.strip()


def plan_keys(
    inv: Inventory,
    sender: str,
    keys: Mapping[str, Any],
    known: Mapping[str, tuple[str, str]],
) -> KeyPlan:
    """Decide each announced key. ``sender``: the minion that announced them (authenticated by
    the master); ``known``: minion id -> (state: accepted/pending/rejected, public key) on the
    master, for the announced ids."""
    out = KeyPlan()
    host = docker_host_of(inv, sender)
    allowed = minion_containers(inv, host) if host else {}
    for mid, pub in sorted(keys.items()):
        if host is None:
            out.refused[mid] = f"{sender} is not the minion of a docker_host in the servers pillar"
        elif mid not in allowed:
            out.refused[mid] = f"no container placed on {host} has container:minion with id {mid}"
        elif not isinstance(pub, str) or not pub.strip().startswith(PUBLIC_KEY_HEADS):
            out.refused[mid] = "not a PEM public key"
        else:
            state, have = known.get(mid, (None, None))
            if state == "accepted" and _same(have, pub):
                out.current.append(mid)
            elif state in (None, "pending"):
                out.accept[mid] = pub
            elif state == "accepted":
                out.refused[mid] = (
                    f"another key is accepted for {mid}; delete it (salt-key -d {mid}) to let "
                    f"{host} register container {allowed[mid]} again"
                )
            else:
                out.refused[mid] = f"the key of {mid} is {state} on the master"
    return out
