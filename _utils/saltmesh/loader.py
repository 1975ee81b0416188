"""Entry point of the pip install route: Salt's loader asks it for module folders.

The wheel also carries the SLS tree (``salt/`` of the checkout) as ``saltmesh/_sls``, so a
masterless minion needs nothing else: its ``file_roots`` is the path this prints::

    python3 -m saltmesh.loader        # with Salt's Python, e.g. /opt/saltmesh/bin/python3
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def loader_dirs() -> dict[str, list[str]]:
    """Map each Salt loader type to the folder shipped inside this package."""
    return {
        "modules": [str(_HERE / "_modules")],
        "states": [str(_HERE / "_states")],
        "runners": [str(_HERE / "_runners")],
        "returners": [str(_HERE / "_returners")],
        "engines": [str(_HERE / "_engines")],
        "pillar": [str(_HERE / "_pillar")],
    }


def sls_root() -> str:
    """The saltmesh SLS tree (``top.sls``, ``mesh``, ``containers``, ``nagios``) to put in
    ``file_roots``: ``saltmesh/_sls`` of an installed wheel, or ``salt/`` of a checkout
    (editable install). Raises FileNotFoundError where there is none (route 1 extmods)."""
    for root in (_HERE / "_sls", _HERE.parent.parent / "salt"):
        if (root / "top.sls").is_file():
            return str(root)
    raise FileNotFoundError(f"no saltmesh SLS tree next to {_HERE} (pip install saltmesh)")


if __name__ == "__main__":
    print(sls_root())
