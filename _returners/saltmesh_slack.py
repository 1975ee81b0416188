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
    from saltmesh.errors import SaltmeshError
    from saltmesh.nagios import job_message, webhook
    from saltmesh.nagios import settings as nagios_settings

    HAS_CORE = True
except ImportError:  # pragma: no cover  (core not synced yet)
    HAS_CORE = False

log = logging.getLogger(__name__)

__virtualname__ = "saltmesh_slack"


def __virtual__():
    if not HAS_CORE:
        return (False, "saltmesh_slack returner needs the saltmesh core (saltutil.sync_utils)")
    if not webhook.available():
        return (False, "saltmesh_slack returner needs the requests library")
    return __virtualname__


def returner(ret):
    """
    Post the job return to the configured Slack webhook. Returns True when Slack took it.
    A missing or bad setting, or a refused post, is one log line naming the cause (never
    the webhook URL, never a traceback); the job itself is not affected.
    """
    url = __salt__["config.get"]("saltmesh:nagios:slack:webhook_url")
    if not url:
        log.warning("saltmesh_slack: no saltmesh:nagios:slack:webhook_url configured")
        return False
    try:
        url, channel = nagios_settings.returner_settings(
            url, __salt__["config.get"]("saltmesh:nagios:slack:channel")
        )
        webhook.post(url, job_message.build_payload(ret, channel))
    except SaltmeshError as err:
        log.error("saltmesh_slack: %s", " ".join(str(err).split()))
        return False
    except Exception as err:  # the loader boundary: a returner must not raise into the minion
        log.debug("saltmesh_slack", exc_info=True)
        log.error("saltmesh_slack: unexpected %s: %s", type(err).__name__, err)
        return False
    return True
