"""
Runner: accept the keys docker hosts made for their minion containers (no ``salt-key``, no
``auto_accept``).

A docker host that runs a container declared with ``container:minion`` makes the container's
key pair itself (the private key never leaves it) and announces the public key with the event
``saltmesh/containers/minion-keys``. The shipped reactor ``salt://reactor/minion_keys.sls``
calls :func:`accept` with the announcing minion's id, which the master has authenticated. A key
is accepted only for a container that the ``servers`` pillar places on that docker host
(compiled as the docker host's minion sees it); an accepted or rejected key of another content
is never replaced (``salt-key -d <id>`` first). Master config (then restart the master):

.. code-block:: yaml

    # /etc/salt/master.d/saltmesh-minion-keys.conf
    reactor:
      - 'saltmesh/containers/minion-keys':
        - salt://reactor/minion_keys.sls

CLI Example:

.. code-block:: bash

    salt-run minion_keys.accept host=docker01 keys='{web01: "-----BEGIN PUBLIC KEY-----..."}'
"""

import logging
import os

import salt.cache
from salt.exceptions import SaltException

from saltmesh import inventory
from saltmesh.boundary import one_line_errors
from saltmesh.containers import minion_keys
from saltmesh.errors import SaltmeshError

log = logging.getLogger(__name__)

__virtualname__ = "minion_keys"

_FOLDERS = (("accepted", "minions"), ("pending", "minions_pre"), ("rejected", "minions_rejected"))


def __virtual__():
    return __virtualname__


class _Store:
    """The master's key store: Salt 3008's key cache driver, or 3007's pki_dir folders."""

    def __init__(self, opts):
        self.opts = opts
        self.cache = None
        if opts.get("keys.cache_driver"):
            self.cache = salt.cache.Cache(opts, driver=opts["keys.cache_driver"])

    def known(self, mid):
        """(state, public key) of ``mid``, or (None, None)."""
        if self.cache is not None:
            found = self.cache.fetch("keys", mid) or {}
            return found.get("state"), found.get("pub")
        for state, folder in _FOLDERS:
            path = os.path.join(self.opts["pki_dir"], folder, mid)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as fh:
                    return state, fh.read()
        return None, None

    def accept(self, mid, pub):
        if self.cache is not None:
            self.cache.store("keys", mid, {"pub": pub, "state": "accepted"})
            return
        pre = os.path.join(self.opts["pki_dir"], "minions_pre", mid)
        path = os.path.join(self.opts["pki_dir"], "minions", mid)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(pub)
        if os.path.exists(pre):
            os.unlink(pre)


@one_line_errors(SaltException, OSError)
def accept(host=None, keys=None):
    """
    Accept the announced public keys of the minion containers of docker host minion ``host``.

    host
        The minion id of the docker host that announced the keys (the reactor passes the
        event's sender).
    keys
        ``{minion id: public key (PEM)}``.

    Returns ``{accepted: [...], current: [...], refused: {id: reason}}``; any refusal makes the
    job fail (``retcode: 1``, exit code 1).

    CLI Example:

    .. code-block:: bash

        salt-run minion_keys.accept host=docker01 keys='{web01: "-----BEGIN PUBLIC KEY-----..."}'
    """
    if not host or not isinstance(keys, dict) or not keys:
        raise SaltmeshError("give host=<docker host minion id> and keys={minion id: public key}")
    inv = inventory.parse(__salt__["pillar.show_pillar"](host))
    store = _Store(__opts__)
    known = {mid: store.known(mid) for mid in keys if isinstance(mid, str)}
    known = {mid: found for mid, found in known.items() if found[0] is not None}
    plan = minion_keys.plan_keys(inv, host, keys, known)
    for mid, pub in sorted(plan.accept.items()):
        store.accept(mid, pub)
        log.info("minion_keys: accepted the key of %s, announced by %s", mid, host)
    for mid, why in sorted(plan.refused.items()):
        log.warning("minion_keys: refused the key of %s announced by %s: %s", mid, host, why)
    out = plan.summary()
    if plan.refused:  # salt-run exits 1, as for the one-line errors of saltmesh.boundary
        __context__["retcode"] = 1
        out["retcode"] = 1
    return out
