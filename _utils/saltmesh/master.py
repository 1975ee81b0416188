"""Helpers for runners on the master (these need Salt; the rest of the core does not)."""

from __future__ import annotations

from typing import Any

import salt.pillar
import salt.utils.minions


def pillar_for(opts: dict[str, Any], pillar_minion: str | None = None) -> dict[str, Any]:
    """The pillar as ``pillar_minion`` sees it, compiled on the master.

    Default: the master option ``saltmesh_pillar_minion``, else ``*`` (what top.sls gives
    every minion), as ``salt-run pillar.show_pillar`` does.
    """
    minion = pillar_minion or opts.get("saltmesh_pillar_minion") or "*"
    id_, grains, _ = salt.utils.minions.get_minion_data(minion, opts)
    pillar = salt.pillar.Pillar(opts, grains or {"fqdn": minion}, id_ or minion, "base")
    return pillar.compile_pillar()
