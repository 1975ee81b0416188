"""The state side of batching: who starts a batch, the stash, when a state runs alone."""

from saltmesh.ovs import batchstate
from saltmesh.ovs.chunks import chunk_tag


def chunk(name, **kw):
    return {"state": "ovs_port", "__id__": name, "name": name, "fun": "present",
            "bridge": "br0", "type": "internal", **kw}  # fmt: skip


class Salt(dict):
    """The ``__salt__`` functions the states call, recording the calls."""

    def __init__(self, batch=True):
        super().__init__()
        self.calls = []
        self.batch = batch  # the minion option saltmesh:ovs_batch (read from opts, see state())
        self["config.get"] = lambda key, default="": default
        self["ovs.apply_batch"] = self.apply_batch
        self["ovs.ensure_port"] = self.ensure_port

    def apply_batch(self, items, cache=False):
        self.calls.append(("batch", [i["kwargs"]["name"] for i in items]))
        out = {i["tag"]: {"changes": {"port": {"old": None, "new": i["kwargs"]["name"]}},
                          "clauses": [["add-port"]]} for i in items}  # fmt: skip
        out[items[1]["tag"]] = {"error": "port p2: boom"}
        return out

    def ensure_port(self, test=False, cache=False, **kwargs):
        self.calls.append(("alone", kwargs["name"], test))
        return {"changes": {}, "clauses": []}


def state(name, salt, context, low, lowstate, test=False):
    args = {"name": name, "bridge": "br0", "type": "internal", "tag": None}
    dunders = {"__low__": low, "__lowstate__": lowstate, "__running__": {}, "__instance_id__": "r1"}
    opts = {"test": test, "saltmesh": {"ovs_batch": salt.batch}}
    return batchstate.run("ovs_port", "present", args, salt=salt, opts=opts,
                          context=context, dunders=dunders, expected=(RuntimeError,))  # fmt: skip


def test_first_state_batches_the_others_return_their_stashed_outcome():
    low = [chunk("p1"), chunk("p2"), chunk("p3")]
    salt, ctx = Salt(), {}
    rets = [state(c["name"], salt, ctx, c, low) for c in low]
    assert salt.calls == [("batch", ["p1", "p2", "p3"])]
    assert rets[0] == {"name": "p1", "result": True, "comment": "Port p1 created",
                       "changes": {"port": {"old": None, "new": "p1"}}}  # fmt: skip
    assert rets[1] == {"name": "p2", "result": False, "comment": "port p2: boom", "changes": {}}
    assert rets[2]["comment"] == "Port p3 created"
    assert ctx[batchstate.KEY]["results"] == {}  # each outcome returned once


def test_a_stash_of_another_run_or_other_arguments_is_not_used():
    low = [chunk("p1"), chunk("p2")]
    salt, ctx = Salt(), {}
    tag = chunk_tag(low[1])
    ctx[batchstate.KEY] = {"run": "r0", "results": {tag: ({"name": "p2"}, {"error": "stale"})}}
    assert state("p2", salt, ctx, low[1], low)["result"] is True  # runs alone: last of its run
    assert salt.calls == [("alone", "p2", False)]


def test_test_mode_and_the_option_off_run_alone():
    low = [chunk("p1"), chunk("p2")]
    for salt, test in ((Salt(), True), (Salt(batch=False), False), (Salt(batch="false"), False)):
        state("p1", salt, {}, low[0], low, test=test)
        assert salt.calls == [("alone", "p1", test)]
