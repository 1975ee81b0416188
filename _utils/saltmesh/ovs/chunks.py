"""Which chunks of a state run join a batch: Salt's lowstate and results, read. Pure.

See :mod:`saltmesh.ovs.batch` for the rules; :func:`select` applies them to Salt's
``__lowstate__`` (the run's chunks in execution order) and ``__running__`` (results so far).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from saltmesh.ovs.batch import OPS, Item, op_kwargs

# Requisites that only order a chunk after another: met when that one succeeded. (Salt
# turns ``watch`` into ``require`` for states without ``mod_watch``, as these have none.)
ORDERING = ("require", "watch")
# Chunk keys that make Salt run a chunk conditionally, later, or differently: not batched.
CONDITIONAL = (
    "onchanges", "onchanges_any", "onfail", "onfail_any", "onfail_all", "prereq",
    "require_any", "watch_any", "listen", "unless", "onlyif", "creates", "check_cmd",
    "parallel", "retry", "__prereq__", "__agg__",
)  # fmt: skip


def chunk_tag(chunk: Mapping[str, Any]) -> str:
    """Salt's tag of a low chunk (``salt.state._gen_tag``), the key of its result."""
    return f"{chunk['state']}_|-{chunk['__id__']}_|-{chunk['name']}_|-{chunk['fun']}"


def _refs(chunk: Mapping[str, Any], kind: str) -> Iterable[tuple[str, Any]]:
    for ref in chunk.get(kind) or ():
        if isinstance(ref, str):
            yield "id", ref
        elif isinstance(ref, Mapping):
            for key, val in ref.items():
                yield str(key), val
        else:
            yield "", None


_GLOB = set("*?[]")


class _Index:
    """Salt's requisite lookup over the run's chunks: ``{key: val}`` -> the tags it names
    (``id``, a state module name, or ``sls``; globs allowed)."""

    def __init__(self, lowstate: Sequence[Mapping[str, Any]]):
        self.chunks = [(chunk_tag(c), c) for c in lowstate]
        self.exact: dict[tuple[str, str], list[str]] = {}
        for tag, c in self.chunks:
            keys = {("id", c["__id__"]), ("id", c["name"])}
            keys |= {(c["state"], c["__id__"]), (c["state"], c["name"])}
            keys.add(("sls", c.get("__sls__")))
            keys |= {("sls", s) for s in c.get("__sls_included_from__") or ()}
            for key in keys:
                self.exact.setdefault(key, []).append(tag)

    def named(self, key: str, val: str) -> list[str]:
        if not _GLOB.intersection(val):
            return self.exact.get((key, val), [])
        return [t for t, c in self.chunks if _matches(c, key, val)]


def _matches(chunk: Mapping[str, Any], key: str, val: str) -> bool:
    """Whether a requisite ``{key: val}`` (a glob) names ``chunk``."""

    def same(have: Any) -> bool:
        return isinstance(have, str) and fnmatch.fnmatchcase(have, val)

    if key == "sls":
        return same(chunk.get("__sls__")) or any(
            same(s) for s in chunk.get("__sls_included_from__") or ()
        )
    if key != "id" and chunk.get("state") != key:
        return False
    return same(chunk.get("__id__")) or same(chunk.get("name"))


def select(
    low: Mapping[str, Any],
    lowstate: Sequence[Mapping[str, Any]],
    running: Mapping[str, Mapping[str, Any]],
    *,
    failhard: bool = False,
) -> list[Item]:
    """The candidates of a batch started by chunk ``low``: ``low`` and the ovs_port/ovs_bridge
    chunks right after it in ``lowstate`` (see the module docstring). ``running``: the results
    so far (Salt's ``__running__``); ``failhard``: the run's ``failhard`` option. Returns
    ``[]`` when ``low`` is not found or the run has a ``prereq`` (it runs a state ahead of
    its turn, in test mode)."""
    me = chunk_tag(low)
    pos = next((i for i, c in enumerate(lowstate) if chunk_tag(c) == me), None)
    if pos is None or any("prereq" in c or "prereq_in" in c for c in lowstate):
        return []
    index = _Index(lowstate)
    items: list[Item] = []
    batch: set[str] = set()
    left_out: set[str] = set()
    for n, chunk in enumerate(lowstate[pos:]):
        item = _item(chunk, running, index, batch, left_out, first=n == 0, failhard=failhard)
        if item is None:
            break
        if item is False:
            left_out.add(chunk_tag(chunk))
        else:
            items.append(item)
            batch.add(item.tag)
    return items


def _item(
    chunk: Mapping[str, Any],
    running: Mapping[str, Mapping[str, Any]],
    index: _Index,
    batch: set[str],
    left_out: set[str],
    *,
    first: bool,
    failhard: bool,
) -> Item | None | bool:
    """The item of ``chunk``; ``None``: not batchable, the batch ends; ``False``: left out,
    as it requires a state that failed (or one left out)."""
    op = OPS.get((chunk.get("state"), chunk.get("fun")))
    tag = chunk_tag(chunk)
    if op is None or tag in running or any(k in chunk for k in CONDITIONAL):
        return None
    kwargs = op_kwargs(op, chunk)
    if kwargs is None:
        return None
    requires: list[str] = []
    doomed = False
    if not first:  # Salt checked the requisites of the chunk it is running
        for kind in ORDERING:
            for key, val in _refs(chunk, kind):
                targets = index.named(key, val) if isinstance(val, str) else []
                if not targets:
                    return None  # Salt will report it; not ours to decide
                for target in targets:
                    if target in batch:
                        requires.append(target)
                    elif target in left_out:
                        doomed = True
                    elif target not in running:
                        return None  # not run yet: the chunk cannot run before it
                    elif running[target].get("result") is False:
                        doomed = True
                    elif running[target].get("result") is not True:
                        return None
    hard = bool(failhard or chunk.get("failhard"))
    if doomed:  # Salt fails it without running it; with failhard the run stops there
        return None if hard else False
    return Item(tag, op, kwargs, tuple(requires), failhard=hard)
