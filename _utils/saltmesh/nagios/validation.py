"""``nagios -v`` on paper: the scratch main config it checks, and what its output means (pure).

The scratch config loads everything the live one loads except saltmesh's files, plus the staged
set; :mod:`saltmesh.nagios.deploy` writes it and runs the validator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from saltmesh.nagios.plan import Plan


def scratch_config(p: Plan, stage: str) -> str:
    """The main config, loading everything it loads today except saltmesh's files, plus stage."""
    out = []
    for raw in p.main.text.splitlines():
        line = raw.strip()
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if line.startswith(("#", ";")) or not _:
            out.append(raw)
        elif key == "cfg_file":
            path = p.main.resolve(value)
            if path in p.tree.external:
                out.append(f"cfg_file={path}")
        elif key == "cfg_dir":
            root = p.main.resolve(value)
            if root in p.tree.covering:  # expand, leaving our files out
                out += [f"cfg_file={f}" for f in p.tree.covering[root]]
            else:
                out.append(f"cfg_dir={root}")
        elif key in ("resource_file",):
            out.append(f"{key}={p.main.resolve(value)}")
        else:
            out.append(raw)
    out.append(f"cfg_dir={stage}")
    return "\n".join(out) + "\n"


def verdict(returncode: int, output: str, stage: str, conf_dir: str) -> tuple[bool, list[str]]:
    """(ok, lines) of a ``nagios -v`` run on the scratch config.

    ok needs exit 0 *and* ``Total Errors: 0`` (nagioscore#119); lines are the validator's
    errors and warnings (its last lines when it gave none), staged paths shown as live names.
    """
    output = output.replace(stage, conf_dir)
    ok = returncode == 0 and re.search(r"^Total Errors:\s+0\s*$", output, re.M) is not None
    lines = [
        ln.strip()
        for ln in output.splitlines()
        if re.match(r"^\s*(Error|Warning|Unable)\b", ln) or "Total Errors" in ln
    ]
    if not ok and not any(ln.startswith(("Error:", "Unable")) for ln in lines):
        lines += [ln for ln in output.splitlines()[-15:] if ln.strip()]
    return ok, lines


def foreign_culprits(lines: Iterable[str], conf_dir: str, ours: Iterable[str]) -> list[str]:
    """Files the validator names in its errors (``... in file '<path>' on line N``) that
    saltmesh does not own: not one of ``ours`` (file names) in ``conf_dir``."""
    conf_dir, ours = os.path.normpath(conf_dir), set(ours)
    named = {m.group(1) for ln in lines for m in re.finditer(r"\bin file '([^']+)'", ln)}
    return sorted(
        f
        for f in named
        if os.path.dirname(os.path.normpath(f)) != conf_dir or os.path.basename(f) not in ours
    )
