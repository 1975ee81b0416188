"""OpenFlow rules owned by one cookie: parse a dump, diff against a plan, write one bundle. Pure.

A rule is identified by its priority and match (OpenFlow's "strict" identity); its actions are
its value. Rules are written in the text ``ovs-ofctl -O OpenFlow14 dump-flows --no-names
--no-stats`` prints, so a dump of what was added compares equal to the plan (e.g.
``set_field:10.0.0.2->tun_dst``, ``output:2``). Only rules whose cookie is exactly ours are
read (``cookie=C/-1``), deleted (``delete_strict cookie=C/-1,...``) or added; every other rule
of the bridge is left alone, which ``replace-flows`` would not do.

:class:`saltmesh.ovs.openflow.Ofctl` runs the commands; this module only computes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from saltmesh.ovs.errors import SpecError


class Rule(NamedTuple):
    """One OpenFlow rule of table 0: ``priority``, ``match`` (``in_port=1,dl_dst=...``, as
    ovs-ofctl prints it), ``actions`` (as ovs-ofctl prints them)."""

    priority: int
    match: str
    actions: str

    @property
    def key(self) -> tuple[int, str]:
        return (self.priority, self.match)

    def text(self) -> str:
        """``priority=P,MATCH actions=A``: how changes report a rule."""
        head = f"priority={self.priority}" + (f",{self.match}" if self.match else "")
        return f"{head} actions={self.actions}"


def parse_dump(text: str) -> list[Rule]:
    """Rules of a ``dump-flows --no-stats --no-names`` output (header lines skipped).

    Raises :class:`SpecError` for a line that is not a rule of table 0.
    """
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.endswith("reply:") or " reply " in line or line.startswith("NXST"):
            continue
        head, sep, actions = line.partition(" actions=")
        if not sep:
            raise SpecError(f"cannot read OpenFlow rule {line!r}")
        priority = 32768
        match = []
        for field in head.replace(", ", ",").split(","):
            if field.startswith("cookie=") or field == "table=0" or not field:
                continue
            if field.startswith("priority="):
                priority = int(field[len("priority=") :])
            elif field.startswith("table="):
                raise SpecError(f"rule outside table 0: {line!r}")
            else:
                match.append(field)
        rules.append(Rule(priority, ",".join(match), actions))
    return rules


def diff_rules(
    cookie: int, want: Iterable[Rule], have: Iterable[Rule]
) -> tuple[list[str], dict[str, list[str]]]:
    """The ``ovs-ofctl --bundle add-flows`` lines turning ``have`` (our cookie's rules now)
    into ``want``, and the changes ``{"old": [removed rules], "new": [added rules]}`` (sorted
    rule texts; a rule whose actions change is in both). ``([], {})`` when in sync.

    A rule whose actions change is rewritten by ``add`` (same priority and match: replaced in
    place); one no longer wanted is removed by ``delete_strict`` restricted to our cookie.
    """
    wanted = {r.key: r for r in want}
    current: dict[tuple[int, str], Rule] = {}
    for r in have:
        if r.key in current:  # cannot happen in one table; be safe and rewrite it
            current[r.key] = Rule(r.priority, r.match, "\0")
        else:
            current[r.key] = r
    removed = sorted(
        (r for k, r in current.items() if k not in wanted or wanted[k].actions != r.actions),
        key=lambda r: r.key,
    )
    added = sorted(
        (r for k, r in wanted.items() if k not in current or current[k].actions != r.actions),
        key=lambda r: r.key,
    )
    lines = []
    for r in removed:
        if r.key not in wanted:
            match = f",{r.match}" if r.match else ""
            lines.append(f"delete_strict cookie={cookie:#x}/-1,priority={r.priority}{match}")
    for r in added:
        match = f",{r.match}" if r.match else ""
        lines.append(f"add cookie={cookie:#x},priority={r.priority}{match},actions={r.actions}")
    if not lines:
        return [], {}
    return lines, {
        "old": sorted(r.text() for r in removed if r.actions != "\0"),
        "new": sorted(r.text() for r in added),
    }
