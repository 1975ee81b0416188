"""A ``salt-call state.sls`` run of the containers SLS (pure): its command and its JSON output.

The ``saltmesh_containers`` engine runs the SLS in a separate ``salt-call`` (fresh pillar, the
minion's own authentication, the same queue as any other state run) and logs what it reports.
"""

from __future__ import annotations

import json
from typing import Any

from saltmesh.errors import SaltmeshError

QUEUE_LIMIT = 8  # wait behind at most this many state runs in progress


class NoStateOutput(SaltmeshError):
    """salt-call printed no JSON return: it failed before any state ran (see its stderr)."""


def salt_call_argv(salt_call: str, config_dir: str, sls: str) -> list[str]:
    """``salt-call`` running ``state.sls <sls>`` with the minion configuration in ``config_dir``."""
    return [
        salt_call,
        "--config-dir",
        config_dir,
        "--out",
        "json",
        "--log-level",
        "quiet",
        "state.sls",
        sls,
        # wait for the state runs in progress instead of failing. An integer, not True: Salt
        # 3008 answers queue=True by filing the job for its minion daemon, and from salt-call
        # that job has lost its arguments; an integer waits in place on 3007 and 3008 alike.
        f"queue={QUEUE_LIMIT}",
    ]


def parse_states(stdout: str, sls: str) -> dict[str, dict[str, Any]]:
    """The state returns (state key -> return) in ``salt-call --out json state.sls`` output.

    Raises :class:`NoStateOutput` when stdout holds no ``local`` return, and SaltmeshError with
    Salt's message when the SLS did not run (a render error, a missing SLS: a list of errors).
    """
    try:
        states = json.loads(stdout)["local"]
    except (ValueError, KeyError, TypeError):
        raise NoStateOutput("salt-call printed no state return") from None
    if not isinstance(states, dict):
        raise SaltmeshError(f"state.sls {sls}: {states}")
    if not all(isinstance(ret, dict) and "result" in ret for ret in states.values()):
        # not state returns (e.g. {"result": true, "comment": "Job queued ...", ...})
        raise SaltmeshError(f"state.sls {sls} ran no states: {states.get('comment') or states}")
    return states


def notable(states: dict[str, dict[str, Any]]) -> list[tuple[bool, str | None]]:
    """``(succeeded, comment)`` of every state that changed something or failed, in order."""
    return [
        (bool(ret.get("result")), ret.get("comment"))
        for ret in states.values()
        if ret.get("changes") or not ret.get("result")
    ]
