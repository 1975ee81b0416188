"""Each group's (app's, or single container's) order of preference over docker hosts: soft
``prefer`` rules first, then weighted rendezvous hashing.

Rendezvous (highest random weight): every (group, host) pair gets ``-weight / ln(u)`` with ``u``
uniform in (0, 1) from a 64-bit hash of the pair; the ranking depends only on the pair, so a
host joining takes the first place of about 1/(n+1) of the groups and changes nothing else in
anyone's order, and a host leaving only drops out. Pair hash: two multiply-xorshift rounds
(murmur3's constants) over the XOR of the names' sha256 prefixes; with equal weights the hosts
are sorted by that hash directly (its low bits replaced by the host's index, so that plain
integers sort: 1,000 apps x 1,000 hosts in a few tenths of a second).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping, Sequence

from saltmesh.placement.model import Host

_MASK = 2**64 - 1
_C1, _C2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53


@functools.lru_cache(maxsize=65536)
def key64(name: str) -> int:
    """A 64-bit key of a name (sha256 prefix): stable across runs and Python versions."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def pair(group: str, host: str) -> int:
    """The 64-bit hash of (group, host)."""
    x = ((key64(group) ^ key64(host)) * _C1) & _MASK
    return ((x ^ (x >> 32)) * _C2) & _MASK


def score(group: str, host: str, weight: float) -> float:
    """The weighted rendezvous score of ``group`` on ``host``; higher ranks first."""
    return -weight / math.log((pair(group, host) + 0.5) / 2**64)


class Ranker:
    """Ranks one set of hosts (weight > 0) for any group; ``soft``: host -> prefer score."""

    def __init__(self, hosts: Sequence[Host], soft: Mapping[str, int] | None = None):
        self.hosts = list(hosts)
        self.keyed = [(key64(h.name), i) for i, h in enumerate(self.hosts)]
        self.bits = max(1, (len(self.hosts) - 1).bit_length())
        self.weighted = len({h.weight for h in self.hosts}) > 1
        soft = soft or {}
        levels = sorted({soft.get(h.name, 0) for h in self.hosts}, reverse=True)
        self.levels = [
            [(key64(h.name), i) for i, h in enumerate(self.hosts) if soft.get(h.name, 0) == lvl]
            for lvl in levels
        ]
        self.index = {h.name: i for i, h in enumerate(self.hosts)}
        self.level_of = {i: n for n, keyed in enumerate(self.levels) for _, i in keyed}

    def _key(self, g: int, k: int, i: int) -> float | int:
        """The sort key of host ``i`` (hash key ``k``) for group key ``g`` (higher first)."""
        x = (g ^ k) * _C1 & _MASK
        z = ((x ^ (x >> 32)) * _C2) & _MASK
        if self.weighted:
            return -self.hosts[i].weight / math.log((z + 0.5) / 2**64)
        low = (1 << self.bits) - 1
        return (z & (_MASK >> self.bits << self.bits)) | (low - i)

    def within(self, group: str, host: str, limit: int) -> bool:
        """Whether ``host`` is among the first ``limit`` of ``group``'s ranking, without
        ranking every host (stops as soon as ``limit`` hosts rank before it)."""
        i = self.index.get(host)
        if i is None:
            return False
        level = self.level_of[i]
        before = sum(len(keyed) for keyed in self.levels[:level])
        if before >= limit:
            return False
        g = key64(group)
        mine = self._key(g, key64(host), i)
        for k, j in self.levels[level]:
            if j != i and self._key(g, k, j) > mine:
                before += 1
                if before >= limit:
                    return False
        return True

    def _order(self, g: int, keyed: list[tuple[int, int]]) -> list[int]:
        if self.weighted:
            hosts = self.hosts
            scores = {
                i: -hosts[i].weight
                / math.log(
                    ((((x := (g ^ k) * _C1 & _MASK) ^ (x >> 32)) * _C2 & _MASK) + 0.5) / 2**64
                )
                for k, i in keyed
            }
            return sorted(scores, key=lambda i: (scores[i], -i), reverse=True)
        bits, low = self.bits, (1 << self.bits) - 1
        hi = _MASK >> bits << bits
        # ties of the top 64 - bits bits go to the lower index (the name sorted first)
        folded = [
            ((((x := (g ^ k) * _C1 & _MASK) ^ (x >> 32)) * _C2) & hi) | (low - i) for k, i in keyed
        ]
        folded.sort(reverse=True)
        return [low - (f & low) for f in folded]

    def rank(self, group: str) -> list[Host]:
        """The hosts in ``group``'s order: higher prefer score first, then rendezvous."""
        g, hosts = key64(group), self.hosts
        if len(self.levels) == 1 and not self.weighted:  # the common case, in one pass
            bits, low = self.bits, (1 << self.bits) - 1
            hi = _MASK >> bits << bits
            folded = [
                ((((x := (g ^ k) * _C1 & _MASK) ^ (x >> 32)) * _C2) & hi) | (low - i)
                for k, i in self.levels[0]
            ]
            folded.sort(reverse=True)
            return [hosts[low - (f & low)] for f in folded]
        out = []
        for keyed in self.levels:
            out += [hosts[i] for i in self._order(g, keyed)]
        return out


def rank(group: str, hosts: Sequence[Host], soft: Mapping[str, int] | None = None) -> list[Host]:
    """``hosts`` (weight > 0) in ``group``'s order: higher ``soft`` first, then rendezvous."""
    return Ranker(hosts, soft).rank(group)
