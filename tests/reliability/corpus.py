"""The bad-input corpus: small malformed pillars, each with the pillar path it must be blamed on.

``corpus/<area>/<case>.yaml`` holds a comment saying what is wrong, ``expect`` (the culprit's
pillar path) and ``pillar``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent / "corpus"


def cases(*areas: str) -> list:
    """pytest params ``(expect, pillar)``, one per file of ``areas`` (all areas when none)."""
    folders = (
        [ROOT / a for a in areas] if areas else sorted(p for p in ROOT.iterdir() if p.is_dir())
    )
    out = []
    for path in sorted(f for folder in folders for f in folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        out.append(
            pytest.param(data["expect"], data["pillar"], id=f"{path.parent.name}/{path.stem}")
        )
    return out
