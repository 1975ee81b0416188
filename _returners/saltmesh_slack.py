"""
saltmesh_slack: post Salt job results to a Slack incoming webhook.

Salt 3008 dropped ``slack_returner`` and the Slack engine from core, and no Salt extension on
PyPI ships them (``pip index versions saltext-slack``: no such distribution), so the pack has
this small returner. It posts one message per job: the function, the minion, and for state runs
how many states succeeded, changed and failed; the colour is ``danger`` when anything failed,
``warning`` when something changed, ``good`` otherwise.

Configuration (minion config or pillar; the same webhook as the Nagios notifications):

.. code-block:: yaml

    saltmesh:
      nagios:
        slack:
          webhook_url: https://hooks.slack.com/services/T000/B000/XXXX
          channel: '#ops'      # optional

Usage:

.. code-block:: bash

    salt '*' state.apply --return saltmesh_slack
    salt-call state.sls nagios.running --return saltmesh_slack
"""

# ruff: noqa: F821  (Salt injects __salt__ into returners)
import logging

try:
    import requests

    HAS_REQUESTS = True
except ImportError:  # pragma: no cover
    HAS_REQUESTS = False

log = logging.getLogger(__name__)

__virtualname__ = "saltmesh_slack"


def __virtual__():
    if not HAS_REQUESTS:
        return (False, "saltmesh_slack returner needs the requests library")
    return __virtualname__


def _summary(ret):
    """(colour, text lines) for one job return."""
    data = ret.get("return")
    success = ret.get("success", ret.get("retcode", 0) == 0)
    lines = []
    if (
        isinstance(data, dict)
        and data
        and all(isinstance(v, dict) and "result" in v for v in data.values())
    ):
        failed = sorted(v.get("__id__", k) for k, v in data.items() if v.get("result") is False)
        changed = [v for v in data.values() if v.get("changes")]
        lines.append(f"{len(data)} states: {len(changed)} changed, {len(failed)} failed")
        lines += [f"failed: {name}" for name in failed[:10]]
        colour = "danger" if failed else "warning" if changed else "good"
    else:
        colour = "good" if success else "danger"
        text = str(data)
        lines.append(text if len(text) <= 500 else text[:500] + "...")
    if not success and colour != "danger":
        colour = "danger"
    return colour, lines


def build_payload(ret, channel=None):
    colour, lines = _summary(ret)
    title = f"Salt {ret.get('fun', '?')} on {ret.get('id', '?')}"
    payload = {
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


def returner(ret):
    """
    Post the job return to the configured Slack webhook.
    """
    url = __salt__["config.get"]("saltmesh:nagios:slack:webhook_url")
    if not url:
        log.warning("saltmesh_slack: no saltmesh:nagios:slack:webhook_url configured")
        return False
    channel = __salt__["config.get"]("saltmesh:nagios:slack:channel")
    try:
        resp = requests.post(url, json=build_payload(ret, channel), timeout=10)
    except requests.RequestException as err:
        log.error("saltmesh_slack: %s", err)
        return False
    if resp.status_code >= 300:
        log.error("saltmesh_slack: HTTP %s: %s", resp.status_code, resp.text[:200])
        return False
    return True
