"""
ext_pillar ``saltmesh_fleet``: the fleet file, sliced per minion (docs/scale.md).

Each minion gets only the part of ``servers`` its states read (its own entry, its containers,
stubs of its peers); Nagios servers and the ids in ``whole`` (``*``, as the ``mesh`` and
``placement`` runners compile pillar) get the whole fleet. The files are read and validated
once per change, in the master process; an invalid file gives every minion a pillar
``_errors`` naming it, so no state runs on a silently empty pillar.

.. code-block:: yaml

    # /etc/salt/master.d/saltmesh.conf
    ext_pillar:
      - saltmesh_fleet:
          paths:
            - /srv/saltmesh/fleet.yaml            # servers + saltmesh
            - /srv/saltmesh/saltmesh_placement.sls  # what placement.apply writes
          whole: ['*']                            # default
    saltmesh:
      placement_file: /srv/saltmesh/saltmesh_placement.sls

Then ``salt-run saltutil.sync_pillar`` (and ``sync_utils``), or the pip install's entry point.
"""

import logging

from saltmesh import fleet

log = logging.getLogger(__name__)

__virtualname__ = "saltmesh_fleet"


def __virtual__():
    return __virtualname__


def ext_pillar(minion_id, pillar, path=None, paths=None, whole=fleet.WHOLE_DEFAULT):  # noqa: ARG001
    """
    The slice of the fleet file(s) ``minion_id`` needs.

    path
        One fleet file (YAML: ``servers`` and ``saltmesh``).
    paths
        Several, merged in order (mappings key by key, the later file wins).
    whole
        Minion ids that get the whole fleet. Default: ``['*']`` (the runners).
    """
    files = [path] if path else []
    files += list(paths or [])
    out = fleet.ext_pillar_data(minion_id, files, whole)
    if "_errors" in out:  # Salt 3008 masks pillar values on the minion: say it here too
        log.error("saltmesh_fleet for %s: %s", minion_id, "; ".join(out["_errors"]))
    return out
