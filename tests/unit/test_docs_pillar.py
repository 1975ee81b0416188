"""docs/pillar.md documents every pillar key and option the code reads, and only those.

The keys come from the code, not from a list kept here:

* the key sets the validators check, one per pillar section (``r.keys(data, KEYS, path)``);
  a test makes sure :data:`SECTIONS` names every such set, so a new section cannot slip by;
* for what is read without a declared key set (directly under ``saltmesh``, minion and master
  options, the engine's arguments), the source itself: ``saltmesh.get("key")`` in the core,
  ``__salt__["config.get"]("saltmesh:...")`` and ``_opt("key")`` in the loader modules,
  ``(__opts__.get("saltmesh") or {}).get("key")`` and ``__opts__.get("saltmesh_...")``,
  ``salt['pillar.get']('saltmesh:...')`` and ``contents_pillar:`` in the SLS tree, and the
  parameters of the ``saltmesh_containers`` engine's ``start()``.

A key is documented when a table row of docs/pillar.md starts with it in backquotes, as its
full path (``saltmesh:mesh:bridge``, ``servers:<name>:container:image``), with its type,
default and meaning in the next three cells.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from saltmesh.inventory import containers as inv_containers
from saltmesh.inventory import discovery as inv_discovery
from saltmesh.inventory import mesh_settings, model, servers
from saltmesh.inventory import pools as inv_pools
from saltmesh.nagios import build, settings

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "_utils" / "saltmesh"
LOADERS = [
    REPO / d for d in ("_modules", "_states", "_runners", "_engines", "_returners", "_pillar")
]
SLS_TREE = REPO / "salt"
DOC = REPO / "docs" / "pillar.md"
ENGINE = REPO / "_engines" / "saltmesh_containers.py"
EXT_PILLAR = REPO / "_pillar" / "saltmesh_fleet.py"

# Every pillar section with a declared key set: its path in the docs -> the set the validator
# checks (an unknown key in the section is an error naming its path).
SECTIONS = {
    "servers:<name>": servers._SERVER_KEYS,
    "servers:<name>:container": model.CONTAINER_KEYS,
    "servers:<name>:container:networks:<i>": inv_containers._NETWORK_KEYS,
    "servers:<name>:container:minion": inv_containers._MINION_KEYS,
    "saltmesh:mesh": mesh_settings._MESH_KEYS,
    "saltmesh:pools:<pool>": inv_pools._POOL_KEYS,
    "saltmesh:discovery": inv_discovery._KEYS,
    "saltmesh:containers": inv_containers._SETTINGS_KEYS,
    "saltmesh:nagios": settings._SETTINGS_KEYS,
    "saltmesh:nagios:slack": settings._SLACK_KEYS,
    "saltmesh:nagios:nrpe": settings._NRPE_KEYS,
}
# The key set checked directly under ``saltmesh``: its keys are each a row or a section of their
# own (a heading), so it is compared with the keys the code reads there, not with rows.
TOP_KEYS = servers._SALTMESH_KEYS
# The one row standing for every Nagios service directive (listed one by one in its section).
SERVICE_ROW = "servers:<name>:services:<description>:<directive>"


# --------------------------------------------------------------------------- the code's keys


def _modules_of(root: Path, package: str | None):
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        name = None
        if package is not None:
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
        yield path, name, tree


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _subscript_key(node) -> str | None:
    """``"config.get"`` for ``__salt__["config.get"]``."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "__salt__"
    ):
        return _literal(node.slice)
    return None


def _is_opts_saltmesh(node) -> bool:
    """``__opts__.get("saltmesh")`` anywhere inside ``node``."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == "get"
            and isinstance(sub.func.value, ast.Name)
            and sub.func.value.id == "__opts__"
            and sub.args
            and _literal(sub.args[0]) == "saltmesh"
        ):
            return True
    return False


def declared_keys() -> set[str]:
    return {f"{section}:{key}" for section, keys in SECTIONS.items() for key in keys}


def read_keys() -> set[str]:
    """Keys read without a declared key set, found in the source."""
    found: set[str] = set()
    trees = list(_modules_of(CORE, "saltmesh"))
    trees += [t for d in LOADERS for t in _modules_of(d, None)]
    for path, module, tree in trees:
        loader = module is None
        opt_helper = next(
            (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_opt"),
            None,
        )
        if loader and opt_helper is not None:  # a loader's _opt() helper reads saltmesh:<key>
            assert "saltmesh" in ast.get_source_segment(path.read_text(), opt_helper), path
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            arg = _literal(node.args[0])
            if arg is None:
                continue
            func = node.func
            if loader and isinstance(func, ast.Name) and func.id == "_opt":
                found.add(f"saltmesh:{arg}")
            elif _subscript_key(func) in ("config.get", "pillar.get"):
                if arg.startswith("saltmesh:"):
                    found.add(arg)
            elif isinstance(func, ast.Name) and func.id == "get" and arg.startswith("saltmesh:"):
                found.add(arg)  # a core reader handed config.get (Ovsdb.from_options)
            elif isinstance(func, ast.Attribute) and func.attr in ("get", "pop"):
                receiver = func.value
                if isinstance(receiver, ast.Name) and receiver.id == "saltmesh":
                    found.add(f"saltmesh:{arg}")
                elif isinstance(receiver, ast.Name) and receiver.id == "__opts__":
                    if arg.startswith("saltmesh") and arg != "saltmesh":
                        found.add(arg)  # a master/minion option of its own (saltmesh_...)
                elif _is_opts_saltmesh(receiver):
                    found.add(f"saltmesh:{arg}")
    for sls in sorted(SLS_TREE.rglob("*.sls")):
        text = sls.read_text()
        found.update(re.findall(r"pillar\.get'\]\(\s*'(saltmesh:[\w:]+)'", text))
        found.update(re.findall(r"contents_pillar:\s*(saltmesh:[\w:]+)", text))
    engine = ast.parse(ENGINE.read_text())
    start = next(n for n in engine.body if isinstance(n, ast.FunctionDef) and n.name == "start")
    found.update(f"engines:saltmesh_containers:{a.arg}" for a in start.args.args)
    ext = ast.parse(EXT_PILLAR.read_text())
    fn = next(n for n in ext.body if isinstance(n, ast.FunctionDef) and n.name == "ext_pillar")
    # after Salt's own (minion_id, pillar): the options of the master's ext_pillar entry
    found.update(f"ext_pillar:saltmesh_fleet:{a.arg}" for a in fn.args.args[2:])
    return found


def code_keys() -> set[str]:
    """Every key the code knows, plus the one row that stands for every service directive.
    A section (``saltmesh:mesh``) is documented by its rows; one that is a key of its parent
    section too (``servers:<name>:container``, ``saltmesh:nagios:slack``) also has a row."""
    declared = declared_keys()
    return (declared | read_keys() | {SERVICE_ROW}) - (set(SECTIONS) - declared)


# --------------------------------------------------------------------------- the docs' keys


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def doc_rows() -> dict[str, list[str]]:
    """``{key: [type, default, meaning]}`` for every table row that starts with a key."""
    rows: dict[str, list[str]] = {}
    for line in DOC.read_text().splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        m = re.fullmatch(r"`([^`]+)`", cells[0]) if cells else None
        if m:
            assert m.group(1) not in rows, f"{m.group(1)} has two rows in {DOC.name}"
            rows[m.group(1)] = cells[1:]
    return rows


def doc_section(heading: str) -> str:
    """The text under ``heading`` (a Markdown heading line) up to the next heading."""
    text = DOC.read_text()
    start = text.index(heading + "\n")
    end = text.find("\n#", start + len(heading))
    return text[start : end if end != -1 else None]


# --------------------------------------------------------------------------- the tests


def test_the_scan_finds_the_keys_read_outside_the_validators():
    """The source scan works: a scan that finds nothing would make the next test pass idly."""
    assert {
        "saltmesh:placement",
        "saltmesh:placement_weights",
        "saltmesh:placement_capacity",
        "saltmesh:heal_minutes",
        "saltmesh:heal_seconds",
        "saltmesh:ovsdb",
        "saltmesh:ovsdb_timeout",
        "saltmesh:netns",
        "saltmesh:docker_url",
        "saltmesh:lock_timeout",
        "saltmesh:placement_file",
        "saltmesh_pillar_minion",
        "saltmesh:nagios:slack:webhook_url",
        "engines:saltmesh_containers:interval",
        "ext_pillar:saltmesh_fleet:paths",
    } <= read_keys()


def test_sections_name_every_key_set_the_validators_check():
    """Each ``r.keys(data, KEYS, path)`` (and ``_section(..., KEYS)``) of the core checks a set
    that :data:`SECTIONS` maps to its pillar path."""
    checked = []
    for path, module, tree in _modules_of(CORE, "saltmesh"):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            position = {"keys": 1, "_section": 3}.get(name)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if not isinstance(arg, ast.Name):
                continue
            value = getattr(importlib.import_module(module), arg.id, None)
            if value is None:  # a parameter (a helper's), checked at its callers
                continue
            checked.append((f"{path.relative_to(REPO)}: {arg.id}", value))
    assert checked
    known = [*SECTIONS.values(), TOP_KEYS]
    unmapped = [where for where, value in checked if not any(value is k for k in known)]
    assert not unmapped, f"key sets checked by the validators but not in SECTIONS: {unmapped}"


def test_every_key_the_code_reads_has_a_row():
    missing = sorted(code_keys() - set(doc_rows()))
    assert not missing, f"keys the code reads but {DOC.name} does not document: {missing}"


def test_every_row_names_a_key_the_code_reads():
    stale = sorted(set(doc_rows()) - code_keys())
    assert not stale, f"rows of {DOC.name} for keys the code does not read: {stale}"


def test_every_row_gives_type_default_and_meaning():
    incomplete = sorted(k for k, cells in doc_rows().items() if len(cells) != 3 or not all(cells))
    assert not incomplete, f"rows without type, default and meaning: {incomplete}"


def test_every_service_directive_is_listed():
    section = doc_section("### `servers:<name>:services`")
    listed = set(re.findall(r"`([a-z_]+)`", section))
    missing = sorted(build.SERVICE_DIRECTIVES - listed)
    assert not missing, f"service directives missing from {DOC.name}: {missing}"


def test_the_readme_links_the_reference():
    assert "docs/pillar.md" in (REPO / "README.md").read_text()


def test_saltmesh_allows_exactly_the_keys_the_code_reads_there():
    """A typo directly under ``saltmesh`` fails, and no key the code reads there does (but a
    master option: of no effect in a pillar)."""
    master = {key for key in doc_rows() if f"| `{key}` |" in doc_section("## Master options")}
    read = {key.split(":")[1] for key in code_keys() - master if key.startswith("saltmesh:")}
    assert "placement_file" not in read and {"mesh", "ovsdb", "heal_minutes"} <= read
    assert set(TOP_KEYS) == read
