"""Entry point of the pip install route: Salt's loader asks it for module folders."""

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
    }
