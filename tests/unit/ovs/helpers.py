"""Snapshots and specs the OVS unit tests build on."""

from saltmesh.errors import CommandError
from saltmesh.ovs.schema import Bridge, Interface, Port, Snapshot
from saltmesh.ovs.spec import PortSpec


def make_snap(*ports: tuple[Port, list[Interface]], bridges=("br0", "br1"), **br_cols) -> Snapshot:
    plist = {p.name: p for p, _ in ports}
    ifaces = {i.name: i for _, ilist in ports for i in ilist}
    brs = {
        b: Bridge(
            name=b,
            uuid=f"uuid-{b}",
            ports=tuple(sorted(n for n, p in plist.items() if p.bridge == b)),
            **br_cols,
        )
        for b in bridges
    }
    return Snapshot(bridges=brs, ports=plist, interfaces=ifaces)


def tunnel(name="gre-0a000002", bridge="br0", type="gre", options=None, protected=True, **port):
    opts = {"remote_ip": "10.0.0.2", "key": "5000"} if options is None else options
    return (
        Port(name=name, uuid=f"uuid-{name}", bridge=bridge, interfaces=(name,), protected=protected,
             interface_uuids={name: f"iuuid-{name}"}, **port),
        [Interface(name=name, uuid=f"iuuid-{name}", type=type, options=opts, port=name)],
    )  # fmt: skip


GRE = PortSpec(
    name="gre-0a000002",
    bridge="br0",
    type="gre",
    options={"remote_ip": "10.0.0.2", "key": 5000},
    protected=True,
)


class FakeDb:
    """An :class:`~saltmesh.ovs.ovsdb.Ovsdb` stand-in: serves snapshots, records writes.

    ``snaps`` are returned by successive reads (the last one again when they run out);
    ``fail`` is how many transactions fail before one succeeds; ``records`` serve get_record.
    """

    def __init__(self, *snaps, db=None, fail=0, records=None):
        self.db = db
        self.snaps = list(snaps) or [make_snap()]
        self.reads = 0
        self.fail = fail
        self.written: list[list[tuple[str, ...]]] = []
        self.records = records or {}

    def snapshot(self):
        snap = self.snaps[min(self.reads, len(self.snaps) - 1)]
        self.reads += 1
        return snap

    def transact(self, clauses):
        if not clauses:
            return
        if self.fail:
            self.fail -= 1
            raise CommandError(["ovs-vsctl"], 1, "transaction error")
        self.written.append([tuple(c) for c in clauses])

    def get_record(self, table, record):
        if (table, record) not in self.records:
            raise CommandError(["ovs-vsctl"], 1, f'no row "{record}" in table {table}')
        return self.records[(table, record)]
