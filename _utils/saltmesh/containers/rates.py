"""Flow rates of an attachment (pure): what OVSDB holds, and the clauses bringing it to ``rate``.

A network with ``rate`` (kbps) limits both directions on the host side of its veth (the OVS
port the attacher made):

* from the container: Interface ``ingress_policing_rate`` (kbps) and ``ingress_policing_burst``
  (kb; ``burst`` unset: 0, Open vSwitch's default);
* to the container: a QoS row of type ``linux-htb`` with ``other_config:max-rate`` (bits/s),
  referenced by the Port's ``qos`` column. The userspace datapath sends through the veth's
  qdisc, so this works there too; ``egress-policer`` exists only for DPDK ports;
* from the container, also: a ``tbf`` qdisc on the container's own interface (the "shaper"),
  because the ingress policer is a tc ingress action that the userspace datapath (which reads
  the veth through AF_PACKET) never passes, and that kernels without ``act_police`` lack.

The QoS row carries the container and interface in ``external_ids``: only rows with that
identity are ever changed or destroyed. QoS is a root table (a row no port references stays),
so a port deleted or a rate removed destroys our row in the same transaction, and rows of ours
that no port references any more are destroyed as orphans.

Reported per interface: ``rate`` (``old`` is a dict ``{"ingress", "egress"}`` when the two
directions disagree, e.g. after a hand edit) and ``burst``; ``None`` means no limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from saltmesh.containers.names import host_ifname
from saltmesh.containers.ports import EXT_CONTAINER, EXT_IFACE
from saltmesh.inventory import NetworkAttachment
from saltmesh.ovs.clauses import Changes, Clause
from saltmesh.ovs.schema import decode
from saltmesh.ovs.values import map_args, quote

QOS_TYPE = "linux-htb"

# One ovs-vsctl read: each port's qos, each interface's policing, every QoS row.
READ_ARGS: tuple[str, ...] = (
    "--format=json", "--data=json",
    "--", "--columns=name,qos", "list", "Port",
    "--", "--columns=name,ingress_policing_rate,ingress_policing_burst", "list", "Interface",
    "--", "--columns=_uuid,type,other_config,external_ids", "list", "QoS",
)  # fmt: skip


@dataclass(frozen=True)
class Qos:
    uuid: str
    type: str = ""
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rates:
    """Port -> QoS uuid, interface -> (policing rate, burst), QoS rows by uuid."""

    port_qos: dict[str, str | None] = field(default_factory=dict)
    policing: dict[str, tuple[int, int]] = field(default_factory=dict)
    qos: dict[str, Qos] = field(default_factory=dict)


def parse(text: str) -> Rates:
    """A :class:`Rates` from the output of :data:`READ_ARGS`."""
    docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    ports, ifaces, qos = (
        [dict(zip(d["headings"], row, strict=True)) for row in d["data"]] for d in docs
    )
    return Rates(
        port_qos={r["name"]: decode(r["qos"]) or None for r in ports},
        policing={
            r["name"]: (int(r["ingress_policing_rate"]), int(r["ingress_policing_burst"]))
            for r in ifaces
        },
        qos={
            decode(r["_uuid"]): Qos(
                decode(r["_uuid"]),
                r["type"],
                dict(decode(r["other_config"])),
                dict(decode(r["external_ids"])),
            )
            for r in qos
        },
    )


def identity(container: str, interface: str) -> dict[str, str]:
    return {EXT_CONTAINER: container, EXT_IFACE: interface}


def _ours(row: Qos | None, container: str | None = None) -> bool:
    """Whether ``row`` carries our identity (of ``container``, when given)."""
    owner = row.external_ids.get(EXT_CONTAINER) if row is not None else None
    return bool(owner) and container in (None, owner)


def egress_of(row: Qos | None) -> int | None:
    """The rate (kbps) our QoS row enforces towards the container, or None."""
    if row is None or row.type != QOS_TYPE or set(row.other_config) != {"max-rate"}:
        return None
    bits = row.other_config["max-rate"]
    return int(bits) // 1000 if bits.isdigit() and int(bits) % 1000 == 0 else None


# The shaper: a tbf root qdisc on the container's interface: `rate` kbps; `burst` kb, else
# 100 ms of `rate`, at least SHAPER_MIN_BURST bytes.
SHAPER_LATENCY = "50ms"
SHAPER_MIN_BURST = 3000  # bytes: two full frames; a smaller bucket drops every full-size frame


def shaper_want(net: NetworkAttachment) -> tuple[int, int] | None:
    """(rate, burst) in bytes/s and bytes that ``net`` asks for, or None (no rate)."""
    if not net.rate:
        return None
    burst = net.burst * 125 if net.burst else net.rate * 125 // 10
    return net.rate * 125, max(burst, SHAPER_MIN_BURST)


def shaper_read(net: NetworkAttachment) -> list[str]:
    return ["tc", "-j", "qdisc", "show", "dev", net.interface]


def shaper_of(text: str) -> tuple[int, int] | None:
    """The (rate, burst) of the tbf root qdisc in ``tc -j qdisc show dev IF`` output."""
    for q in json.loads(text or "[]"):
        if q.get("kind") == "tbf" and q.get("root"):
            opts = q.get("options", {})
            return int(opts.get("rate", 0)), int(opts.get("burst", 0))
    return None


def shaper_view(have: tuple[int, int] | None) -> dict[str, int] | None:
    """What ``changes`` say of a shaper: ``{"rate": kbps, "burst": bytes}``."""
    return None if have is None else {"rate": have[0] // 125, "burst": have[1]}


def shaper_argv(net: NetworkAttachment, have: tuple[int, int] | None) -> list[str] | None:
    """The ``tc`` command bringing the shaper to ``net`` (None: nothing to do). tc keeps the
    burst as a time, so a burst read back within 2 % counts as equal."""
    want = shaper_want(net)
    if want is None:
        return None if have is None else ["tc", "qdisc", "del", "dev", net.interface, "root"]
    if have is not None and have[0] == want[0] and abs(have[1] - want[1]) <= want[1] // 50:
        return None
    return [
        "tc", "qdisc", "replace", "dev", net.interface, "root", "tbf",
        "rate", f"{net.rate}kbit", "burst", str(want[1]), "latency", SHAPER_LATENCY,
    ]  # fmt: skip


def limited(container: str, net: NetworkAttachment, have: Rates) -> bool:
    """Whether ``net`` has or had a rate (so its shaper must be read): declared, or policing or
    our QoS row on its port. Unlimited attachments cost no read inside the container."""
    port = host_ifname(container, net.interface)
    qos_id = have.port_qos.get(port)
    ours = _ours(have.qos.get(qos_id)) if qos_id else False
    return bool(net.rate) or have.policing.get(port, (0, 0)) != (0, 0) or ours


def diff_rate(
    container: str, net: NetworkAttachment, have: Rates, new_port: bool = False, ref: str = "@smq"
) -> tuple[list[Clause], Changes]:
    """Clauses and changes bringing the port of ``net`` to ``net.rate``/``net.burst``.

    ``new_port``: the port is created in the same transaction (nothing to compare, nothing
    reported: the attachment's own change names the rate). ``ref``: the ovs-vsctl ``--id`` of
    a QoS row created here (unique within the transaction).
    """
    port = host_ifname(container, net.interface)
    want = (net.rate or 0, (net.burst or 0) if net.rate else 0)
    qos_id = None if new_port else have.port_qos.get(port)
    row = have.qos.get(qos_id) if qos_id else None
    mine = (
        row if row is not None and row.external_ids == identity(container, net.interface) else None
    )
    rate, burst = (0, 0) if new_port else have.policing.get(port, (0, 0))
    egress = egress_of(mine)
    clauses: list[Clause] = []
    if (rate, burst) != want:
        clauses.append(
            (
                "set", "Interface", port,
                f"ingress_policing_rate={want[0]}", f"ingress_policing_burst={want[1]}",
            )
        )  # fmt: skip
    config = f"other_config={{max-rate={quote(str(net.rate * 1000))}}}" if net.rate else ""
    if net.rate and mine is not None and egress != net.rate:
        clauses.append(("set", "QoS", mine.uuid, f"type={QOS_TYPE}", config))
    elif net.rate and mine is None:
        ids = map_args("external_ids", identity(container, net.interface))
        clauses.append((f"--id={ref}", "create", "QoS", f"type={QOS_TYPE}", config, *ids))
        clauses.append(("set", "Port", port, f"qos={ref}"))
    elif not net.rate and mine is not None:
        clauses += [("clear", "Port", port, "qos"), ("destroy", "QoS", mine.uuid)]
    changes: Changes = {}
    if not new_port:
        old = rate or None
        old_rate = old if old == egress else {"ingress": old, "egress": egress}
        if old_rate != net.rate:
            changes["rate"] = {"old": old_rate, "new": net.rate}
        if burst != want[1]:
            changes["burst"] = {"old": burst or None, "new": want[1] or None}
    return clauses, changes


def drop_qos(ports: Iterable[str], have: Rates) -> list[Clause]:
    """Destroy our QoS rows of ``ports`` (deleted in the same transaction)."""
    out: list[Clause] = []
    for port in ports:
        qos_id = have.port_qos.get(port)
        if qos_id and _ours(have.qos.get(qos_id)):
            out.append(("destroy", "QoS", qos_id))
    return out


def orphans(container: str, have: Rates) -> tuple[list[Clause], Changes]:
    """Destroy our QoS rows of ``container`` that no port references (its port was deleted
    behind our back: QoS rows are not garbage-collected). Changes per interface:
    ``{iface: {"qos": {"old": uuid, "new": None}}}``."""
    used = set(have.port_qos.values())
    rows = [r for u, r in sorted(have.qos.items()) if u not in used and _ours(r, container)]
    changes = {
        r.external_ids.get(EXT_IFACE, r.uuid): {"qos": {"old": r.uuid, "new": None}} for r in rows
    }
    return [("destroy", "QoS", r.uuid) for r in rows], changes
