"""The ovs_port/ovs_bridge state functions: alone, or the first of a batch, or batched.

Every one of the four state functions calls :func:`run`. Outside test mode, a state that finds
no result stashed for it in ``__context__`` gathers the batch it starts
(:func:`saltmesh.ovs.chunks.select` over the run's ``__lowstate__``); when that holds more than
itself, ``ovs.apply_batch`` plans them all and writes ONE transaction, and the outcome of each
other batched chunk is stashed under its tag for when Salt runs it (its requisites are checked
by Salt as usual: a chunk whose requisite failed is not run, and its stash is never read).
Otherwise the state runs alone through ``ovs.ensure_port`` & co., exactly as before batching.
Either way the return is built by the same code from the same outcome.

The minion option ``saltmesh:ovs_batch: false`` turns batching off. Test mode never batches
(each state predicts on the run's snapshot, as it always did).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from saltmesh import options
from saltmesh.ovs import batch, chunks, wording
from saltmesh.stateret import from_call

log = logging.getLogger(__name__)

KEY = "saltmesh.ovs.batch"
NOUNS = {"ovs_port": "Port", "ovs_bridge": "Bridge"}


def run_for(
    module: Mapping[str, Any],
    fun: str,
    args: Mapping[str, Any],
    expected: tuple[type[BaseException], ...],
) -> dict[str, Any]:
    """:func:`run` for the state module whose globals are ``module`` (its ``__virtualname__``
    and Salt's dunders)."""
    return run(
        module["__virtualname__"], fun, args, salt=module["__salt__"], opts=module["__opts__"],
        context=module["__context__"], dunders=module, expected=expected,
    )  # fmt: skip


def run(
    state: str,
    fun: str,
    args: Mapping[str, Any],
    *,
    salt: Mapping[str, Callable[..., Any]],
    opts: Mapping[str, Any],
    context: MutableMapping[str, Any],
    dunders: Mapping[str, Any],
    expected: tuple[type[BaseException], ...],
) -> dict[str, Any]:
    """The return of state ``state.fun`` called with ``args`` (its parameters, ``name``
    included). ``dunders``: the state module's globals (``__low__``, ``__lowstate__``,
    ``__running__``, ``__instance_id__``, set by Salt for a state run; absent otherwise);
    ``expected``: the execution module's error class."""
    op = batch.OPS[(state, fun)]
    test = bool(opts.get("test"))
    name = args["name"]
    kwargs = {k: v for k, v in args.items() if v is not None}

    def call() -> dict[str, Any]:
        out = None if test else _batched(op, kwargs, salt, opts, context, dunders)
        if out is None:
            out = salt[f"ovs.{op}"](test=test, cache=True, **kwargs)
        if "error" in out:
            return wording.ovs_ret(name, NOUNS[state], error=out["error"])
        return wording.ovs_ret(
            name, NOUNS[state], out["changes"], test, iface_errors=out.get("errors")
        )

    return from_call(name, call, test=test, expected=expected)


def _batched(
    op: str,
    kwargs: Mapping[str, Any],
    salt: Mapping[str, Callable[..., Any]],
    opts: Mapping[str, Any],
    context: MutableMapping[str, Any],
    dunders: Mapping[str, Any],
) -> dict[str, Any] | None:
    """This chunk's outcome from a batch (stashed, or of the batch it starts); ``None``: run
    it alone."""
    low = dunders.get("__low__")
    if not low or not low.get("__id__"):
        return None
    tag = chunks.chunk_tag(low)
    run_id = dunders.get("__instance_id__")
    stash = context.get(KEY)
    if stash is not None and stash.get("run") == run_id:
        kept = stash["results"].pop(tag, None)
        if kept is not None and kept[0] == batch.op_kwargs(op, kwargs):
            return kept[1]
    lowstate = dunders.get("__lowstate__") or ()
    get = options.of_module({**dunders, "__opts__": opts, "__salt__": salt})
    if len(lowstate) < 2 or not options.flag(get("saltmesh:ovs_batch", None), True):
        return None
    items = chunks.select(
        low, lowstate, dunders.get("__running__") or {}, failhard=bool(opts.get("failhard"))
    )
    if len(items) < 2:
        return None
    outcomes = salt["ovs.apply_batch"]([i.as_dict() for i in items], cache=True)
    mine = outcomes.pop(tag, None)
    context[KEY] = {
        "run": run_id,
        "results": {i.tag: (i.kwargs, outcomes[i.tag]) for i in items if i.tag in outcomes},
    }
    return mine
