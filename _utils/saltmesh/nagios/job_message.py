"""The Slack message for one Salt job result (what the ``saltmesh_slack`` returner posts; pure).

One attachment: the function and the minion; for state runs how many states succeeded, changed
and failed (the first ten failures named); the colour is ``danger`` when anything failed,
``warning`` when something changed, ``good`` otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_FAILED = 10  # failed states named in the message
MAX_TEXT = 500  # characters of a non-state return shown


def _is_state_return(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(v, dict) and "result" in v for v in data.values())
    )


def summary(ret: Mapping[str, Any]) -> tuple[str, list[str]]:
    """(colour, text lines) for one job return."""
    data = ret.get("return")
    success = ret.get("success", ret.get("retcode", 0) == 0)
    lines = []
    if _is_state_return(data):
        failed = sorted(v.get("__id__", k) for k, v in data.items() if v.get("result") is False)
        changed = [v for v in data.values() if v.get("changes")]
        lines.append(f"{len(data)} states: {len(changed)} changed, {len(failed)} failed")
        lines += [f"failed: {name}" for name in failed[:MAX_FAILED]]
        colour = "danger" if failed else "warning" if changed else "good"
    else:
        colour = "good" if success else "danger"
        text = str(data)
        lines.append(text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "...")
    if not success and colour != "danger":
        colour = "danger"
    return colour, lines


def build_payload(ret: Mapping[str, Any], channel: str | None = None) -> dict[str, Any]:
    """The webhook JSON for a job return, optionally to ``channel``."""
    colour, lines = summary(ret)
    title = f"Salt {ret.get('fun', '?')} on {ret.get('id', '?')}"
    payload: dict[str, Any] = {
        "text": title,
        "attachments": [
            {
                "fallback": f"{title}: {lines[0] if lines else ''}",
                "color": colour,
                "title": title,
                "text": "\n".join(lines),
                "fields": [{"title": "jid", "value": str(ret.get("jid", "")), "short": True}],
                "footer": "saltmesh_slack returner",
            }
        ],
    }
    if channel:
        payload["channel"] = channel
    return payload
