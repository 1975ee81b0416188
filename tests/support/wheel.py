"""A real wheel of the checkout, installed into a folder of its own (the pip install route)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def tracked_files(under: str = ".") -> list[str]:
    """The checkout's files as git sees them (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
         "--", under],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return [name for name in filter(None, listed.split("\0")) if (REPO / name).is_file()]


def source_copy(dest: Path) -> Path:
    """A copy of the checkout (a build in the checkout would leave build/ behind)."""
    for name in tracked_files():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest / name)
    return dest


def build_site(tmp: Path) -> Path:
    """Build the wheel from a copy of the checkout, ``pip install --target`` it; the folder."""
    src = source_copy(tmp / "src")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(tmp / "dist"), str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("saltmesh-*.whl")
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return site


def sls_root(site: Path) -> Path:
    """The one documented line, run against the installed wheel: ``python3 -m saltmesh.loader``."""
    out = subprocess.run(
        [sys.executable, "-m", "saltmesh.loader"],
        check=True, capture_output=True, text=True, env={"PYTHONPATH": str(site)}, cwd="/",
    ).stdout  # fmt: skip
    return Path(out.strip())
