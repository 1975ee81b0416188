"""What a deploy would do: render, compare with the files saltmesh owns, pre-check (pure).

Takes the configuration as :mod:`saltmesh.nagios.tree` read it; gives the files to write and
remove and the object-level changes a state reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from saltmesh import inventory
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.nagios.build import (
    DEFAULT_ILLEGAL_CHARS,
    NagiosObject,
    build_objects,
    explain_inventory_error,
)
from saltmesh.nagios.objects import Known, MainConfig
from saltmesh.nagios.render import diff_objects, objects_of_files, render_files
from saltmesh.nagios.settings import Settings
from saltmesh.nagios.tree import Tree


@dataclass
class Plan:
    settings: Settings
    main: MainConfig
    tree: Tree
    rendered: dict[str, bytes]
    changes: dict[str, Any]
    writes: list[str]
    removes: list[str]
    objects: int

    @property
    def empty(self) -> bool:
        return not self.writes and not self.removes

    def texts(self) -> dict[str, str]:
        """``{file name: text}`` of the rendered files (what ``saltmesh_nagios.render`` shows)."""
        return {name: data.decode() for name, data in self.rendered.items()}

    def summary(self) -> dict[str, Any]:
        """What ``saltmesh_nagios.plan`` returns."""
        return {
            "changes": self.changes,
            "write": self.writes,
            "remove": self.removes,
            "objects": self.objects,
        }


def objects_from_pillar(
    settings: Settings,
    pillar: Mapping[str, Any],
    known: Known,
    illegal_chars: str = "",
    owned_hosts: Iterable[str] = (),
) -> list[NagiosObject]:
    """The objects for this pillar: every pillar check of the Nagios pipeline (inventory, then
    the builder's), pure. PillarError names each problem's path; ``owned_hosts`` (hosts
    saltmesh rendered before) turn "unknown parent" into "being removed while..."."""
    try:
        inv = inventory.parse(pillar, external_hosts=known.hosts)
    except PillarError as err:
        raise explain_inventory_error(err, owned_hosts, pillar) from None
    return build_objects(inv, settings, known, illegal_chars)


def make_plan(
    settings: Settings, pillar: Mapping[str, Any], main: MainConfig, tree: Tree, known: Known
) -> Plan:
    """Render and compare; raise PillarError/SaltmeshError on anything a pre-check can see."""
    if not tree.covered:
        raise SaltmeshError(
            f"saltmesh:nagios:conf_dir {settings.conf_dir} is not inside any cfg_dir of "
            f"{main.path}: Nagios would never load it"
        )
    owned_objects = objects_of_files(tree.owned)
    owned_hosts = [k.split(" ", 1)[1] for k in owned_objects if k.startswith("host ")]
    illegal = main.get("illegal_object_name_chars", DEFAULT_ILLEGAL_CHARS) or ""
    objects = objects_from_pillar(settings, pillar, known, illegal, owned_hosts)
    rendered = render_files(objects)
    clash = sorted(set(rendered) & tree.foreign_in_conf_dir)
    if clash:
        raise SaltmeshError(
            f"{settings.conf_dir} holds files saltmesh did not write but needs: {', '.join(clash)}"
        )
    writes = sorted(n for n, data in rendered.items() if tree.owned.get(n) != data)
    removes = sorted(set(tree.owned) - set(rendered))
    changes = diff_objects(owned_objects, objects_of_files(rendered))
    if not changes and (writes or removes):
        changes = {"rewritten": sorted(writes + removes)}
    return Plan(settings, main, tree, rendered, changes, writes, removes, len(objects))
