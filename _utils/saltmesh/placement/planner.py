"""The placement planner: every container to a docker host, deterministic and explained.

Phases (each in a fixed order, so the same input always gives the same plan):

1. **pinned**: containers with ``parents`` in pillar go there (counted, never refused).
2. **kept**: a container stays on its recorded host while that host is usable for it and it
   still fits (resources, ``unique``/``max_per``, its app's ``spread`` shares). Hosts coming
   and going, and scaling an app, move only what must move.
3. **placed**: the others (new, or displaced in 2), biggest first: each goes to the first host
   of its group's ranking (``prefer``, then rendezvous; see :mod:`.ranking`) that fits and
   holds the fewest instances of its app (instances spread over hosts unless rules say more).
4. **rebalanced**: a *fresh* host (one that ran no placed container before: joined, or back
   from a drain) takes, from each app that ranks it within its share, a kept instance from the
   app's worst-ranked host over its share: about C/(n+1) moves when one host joins n hosts
   running C containers, which is the new host's fair share.

A container that fits nowhere is reported (container, rules, every host ruled out and why) in
one :class:`~saltmesh.errors.PillarError` after all containers were tried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from saltmesh.errors import PillarError
from saltmesh.placement import explain, ranking
from saltmesh.placement.constraints import Eligibility, GroupState, eligibility, signature
from saltmesh.placement.fit import Load
from saltmesh.placement.model import (
    KEPT,
    PINNED,
    PLACED,
    REBALANCED,
    Decision,
    Host,
    Item,
    Reason,
)


class Planner:
    def __init__(self, hosts: Sequence[Host], items: Sequence[Item]):
        self.host_list = sorted(hosts, key=lambda h: h.name)
        self.hosts = {h.name: h for h in self.host_list}
        self.items = sorted(items, key=lambda i: (i.group, i.index, i.name))
        self.load = Load(self.host_list)
        self.sizes = Counter(i.group for i in self.items)
        self.rules = {i.group: i.rules for i in reversed(self.items)}
        self._sig = {group: signature(rules) for group, rules in self.rules.items()}
        self._eligible: dict[tuple, Eligibility] = {}
        self._rankers: dict[tuple, ranking.Ranker] = {}
        self._summary: dict[tuple, str] = {}
        self._states: dict[str, GroupState] = {}
        self._ranks: dict[str, list[Host]] = {}
        self.decisions: dict[str, Decision] = {}
        self.problems: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ per group, cached
    def eligible(self, group: str) -> Eligibility:
        key = self._sig[group]
        if key not in self._eligible:
            self._eligible[key] = eligibility(self.host_list, self.rules[group])
        return self._eligible[key]

    def ruled_summary(self, group: str) -> str:
        key = self._sig[group]
        if key not in self._summary:
            ruled = list(self.eligible(group).ruled.values())
            self._summary[key] = f"ruled out: {explain.grouped(ruled, 2)}" if ruled else ""
        return self._summary[key]

    def state(self, group: str) -> GroupState:
        if group not in self._states:
            self._states[group] = GroupState(
                group, self.rules[group], self.sizes[group], self.eligible(group)
            )
        return self._states[group]

    def ranking(self, group: str) -> list[Host]:
        if group not in self._ranks:
            self._ranks[group] = self._ranker(group).rank(group)
        return self._ranks[group]

    def _ranker(self, group: str) -> ranking.Ranker:
        key = self._sig[group]
        if key not in self._rankers:
            elig = self.eligible(group)
            self._rankers[key] = ranking.Ranker(elig.hosts, elig.soft)
        return self._rankers[key]

    # ------------------------------------------------------------------ bookkeeping
    def _take(self, decision: Decision) -> None:
        host = self.hosts[decision.host]
        self.load.take(decision.item, host.name)
        self.state(decision.item.group).add(decision.item, host)
        self.decisions[decision.item.name] = decision

    def _release(self, item: Item) -> None:
        decision = self.decisions.pop(item.name)
        self.load.release(item, decision.host)
        self.state(item.group).remove(item, self.hosts[decision.host])

    def _problem(self, item: Item, host: Host) -> Reason | None:
        return self.load.problem(item, host) or self.state(item.group).problem(host)

    # ------------------------------------------------------------------ phases
    def run(self) -> dict[str, Decision]:
        """Every container's decision; PillarError naming each one that fits nowhere."""
        self._pinned()
        displaced = self._kept()
        todo = [i for i in self.items if i.name not in self.decisions]
        todo.sort(key=lambda i: (-i.memory, -i.cpus, i.group, i.index, i.name))
        for item in todo:
            self._place(item, displaced.get(item.name))
        if self.problems:
            raise PillarError(self.problems)
        self._rebalance()
        return dict(sorted(self.decisions.items()))

    def _pinned(self) -> None:
        for item in self.items:
            if item.pinned is None:
                continue
            if item.pinned not in self.hosts:
                self.problems.append((f"{item.path}:parents", f"{item.pinned} is no docker host"))
                continue
            left = None
            if item.previous is not None and item.previous != item.pinned:
                left = f"pinned to {item.pinned} by parents"
            reasons = [f"pinned by {item.path}:parents"]
            self._take(Decision(item, item.pinned, PINNED, "parents", reasons, left))

    def _kept(self) -> dict[str, str]:
        """Keep what still fits where it is; why each other recorded container must move."""
        candidates = [i for i in self.items if i.pinned is None and i.previous is not None]
        wanted: dict[str, dict[str, dict[str, int]]] = {}
        for item in self.items:
            host = item.pinned or item.previous
            elig = self.eligible(item.group)
            if host not in self.hosts or (item.pinned is None and host in elig.ruled):
                continue
            for c, *_ in self.state(item.group).spreads:
                value = self.hosts[host].attrs.get(c.attribute)
                if value is not None:
                    per = wanted.setdefault(item.group, {}).setdefault(c.attribute, {})
                    per[value] = per.get(value, 0) + 1
        for group, state in self._states.items():
            if state.spreads:
                state.set_quotas(wanted.get(group, {}))
        displaced = {}
        for item in candidates:
            prev = item.previous or ""
            host = self.hosts.get(prev)
            if host is None:
                displaced[item.name] = f"{prev} is no longer a docker host"
                continue
            why = self.eligible(item.group).ruled.get(prev) or self._problem(item, host)
            if why is not None:
                drained = why.kind == "drained"
                displaced[item.name] = f"{prev} is drained (weight 0)" if drained else why.text
                continue
            self._take(Decision(item, prev, KEPT, "kept", [f"stays on {prev}"]))
        for state in self._states.values():
            state.quota = None
        return displaced

    def _place(self, item: Item, left: str | None) -> None:
        state, ranked = self.state(item.group), self.ranking(item.group)
        best: Host | None = None
        best_n = 0
        checked: dict[str, Reason] = {}
        for host in ranked:
            n = state.on(host.name)
            if best is not None and n >= best_n:
                continue
            why = self._problem(item, host)
            if why is not None:
                checked[host.name] = why
                continue
            best, best_n = host, n
            if n == 0:
                break
        if best is None:
            reasons = list(self.eligible(item.group).ruled.values()) + list(checked.values())
            line = explain.infeasible(item.name, reasons, len(self.hosts))
            self.problems.append((item.path, line + (f" (it must leave: {left})" if left else "")))
            return
        ahead = []
        for host in ranked:
            if host is best:
                break
            ahead.append(
                checked.get(host.name)
                or Reason(
                    "spread host",
                    "fewer instances elsewhere: passes",
                    host.name,
                    f"runs {state.on(host.name)} of {item.group}",
                )
            )
        reasons = explain.passed(ahead)
        soft = self.eligible(item.group).soft.get(best.name, 0)
        if ahead:
            rule = ahead[0].kind
        elif soft:
            rule = "prefer"
            reasons.append(f"preferred (score {soft:+d}), first of {len(ranked)} eligible hosts")
        else:
            rule = "hash"
            reasons.append(f"ranks first of {len(ranked)} eligible hosts (rendezvous)")
        summary = self.ruled_summary(item.group)
        if summary:
            reasons.append(summary)
        self._take(Decision(item, best.name, PLACED, rule, reasons, left))

    def _rebalance(self) -> None:
        new_hosts = [h for h in self.host_list if h.fresh and h.weight > 0]
        if not new_hosts:
            return
        kept: dict[str, dict[str, list[Item]]] = {}
        for d in self.decisions.values():
            if d.how == KEPT:
                kept.setdefault(d.item.group, {}).setdefault(d.host, []).append(d.item)
        for group in sorted(kept):
            elig, size = self.eligible(group), self.sizes[group]
            ranker = self._ranker(group)
            # only new hosts within the first ``size`` of the group's ranking have a share
            if not any(
                h.name not in elig.ruled and ranker.within(group, h.name, size) for h in new_hosts
            ):
                continue
            shares = _Shares(self.ranking(group), size)
            for target in shares.ranked[:size]:
                if not target.fresh:
                    continue
                while self.state(group).on(target.name) < shares.of(target.name):
                    if not self._pull(group, target, kept[group], shares):
                        break

    def _pull(self, group: str, target: Host, kept: dict[str, list[Item]], shares: _Shares) -> bool:
        """Move one kept instance of ``group`` onto ``target`` from the worst-ranked host that
        holds more than its share (and may give it up without breaking a rule)."""
        state = self.state(group)
        donors = [h for h, items in kept.items() if items and state.on(h) > shares.of(h)]
        for donor in sorted(donors, key=lambda h: -shares.pos.get(h, len(shares.pos))):
            item = max(kept[donor], key=lambda i: (i.index, i.name))
            self._release(item)
            if self._problem(item, target) is not None:
                self._take(Decision(item, donor, KEPT, "kept", [f"stays on {donor}"]))
                continue
            kept[donor].remove(item)
            rank = shares.pos[target.name] + 1
            reasons = [
                f"{target.name} ranks {rank} of {len(shares.pos)} for {group}, within the first "
                f"{shares.size}; {donor} held more than its share"
            ]
            left = f"rebalance: {target.name} is new since the last apply and ranks higher"
            self._take(Decision(item, target.name, REBALANCED, "rebalance", reasons, left))
            return True
        return False


class _Shares:
    """A group's fair share of each host: its ``size`` instances dealt over its ranking."""

    def __init__(self, ranked: list[Host], size: int):
        self.ranked, self.size = ranked, size
        self.pos = {h.name: i for i, h in enumerate(ranked)}

    def of(self, host: str) -> int:
        i, n = self.pos.get(host), len(self.ranked)
        return 0 if i is None else self.size // n + (1 if i < self.size % n else 0)


def plan(hosts: Sequence[Host], items: Sequence[Item]) -> dict[str, Decision]:
    """Decide a host for every item (see the module docstring)."""
    return Planner(hosts, items).run()
