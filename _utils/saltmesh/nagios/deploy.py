"""Put rendered Nagios objects live without ever loading a bad configuration.

Pipeline (:func:`apply`): read the tree -> plan (render, compare with the files saltmesh owns,
pre-checks) -> stage the new set in a scratch directory -> ``nagios -v`` on a scratch copy of
the main config that loads the staged set instead of the live one -> only then swap the files
in -> one reload -> confirm the daemon survived and re-read its configuration. Any failure
leaves (or puts back) the previous files. ``test=True`` stops after the validation.

NRPE (:func:`nrpe_apply`) follows the same shape; NRPE has no config check of its own, so the
pre-checks are the pack's and the reload is confirmed by the daemon still being alive.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from saltmesh import fileio, proc
from saltmesh.errors import CommandError
from saltmesh.nagios import daemon, nrpe
from saltmesh.nagios.plan import Plan, make_plan
from saltmesh.nagios.settings import Settings
from saltmesh.nagios.tree import read_known, read_main_config, scan_tree
from saltmesh.nagios.validation import foreign_culprits, scratch_config, verdict


@dataclass
class Outcome:
    result: bool | None  # None: test mode with changes pending
    changes: dict[str, Any]
    comment: str
    validator: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """``{result, changes, comment, validator}``: what the execution module returns."""
        return asdict(self)


def plan(settings: Settings, pillar: Mapping[str, Any]) -> Plan:
    """Read the live tree and plan; raise PillarError/SaltmeshError on any pre-check failure."""
    main = read_main_config(settings.main_config)
    tree = scan_tree(main, settings.conf_dir)
    return make_plan(settings, pillar, main, tree, read_known(tree))


def validate(p: Plan) -> tuple[bool, list[str]]:
    """``nagios -v`` on a scratch copy: the live tree minus our files plus the staged set."""
    tmp = tempfile.mkdtemp(prefix="saltmesh-nagios-")
    os.chmod(tmp, 0o755)  # nagios -v drops to nagios_user before it reads the object files
    try:
        stage = os.path.join(tmp, "stage")
        os.mkdir(stage)
        for name, data in p.rendered.items():
            Path(stage, name).write_bytes(data)
        scratch = os.path.join(tmp, "nagios.cfg")
        Path(scratch).write_text(scratch_config(p, stage))
        out = proc.run([p.settings.binary, "-v", scratch], timeout=p.settings.timeout, check=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return verdict(out.returncode, out.stdout + out.stderr, stage, p.settings.conf_dir)


def _put_files(conf_dir: str, files: Mapping[str, bytes | None]) -> None:
    """Write (bytes) or remove (None) files in conf_dir."""
    for name, data in sorted(files.items()):
        path = os.path.join(conf_dir, name)
        if data is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        else:
            fileio.write_atomic(path, data)
    dfd = os.open(conf_dir, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def lock_path(conf_dir: str) -> str:
    """``<parent>/.<conf_dir name>.lock``: one apply at a time per conf_dir."""
    parent = os.path.dirname(os.path.normpath(conf_dir))
    return os.path.join(parent, f".{os.path.basename(conf_dir)}.lock")


def apply(settings: Settings, pillar: Mapping[str, Any], test: bool = False) -> Outcome:
    """Render, validate, swap in, reload once. PillarError/SaltmeshError for pre-check failures.

    ``test=True`` reads only (no lock file either). Otherwise the pillar is checked before the
    lock file is taken, then planned again under the lock, which serialises concurrent runs.
    """
    if test:
        return _apply(settings, pillar, test=True)
    plan(settings, pillar)  # a bad pillar fails here, before anything is written
    with fileio.locked(lock_path(settings.conf_dir)):
        return _apply(settings, pillar, test=False)


def _apply(settings: Settings, pillar: Mapping[str, Any], test: bool) -> Outcome:
    p = plan(settings, pillar)
    if p.empty:
        return Outcome(True, {}, f"{p.objects} Nagios objects in {settings.conf_dir} are current")
    ok, lines = validate(p)
    if not ok:
        head = "nagios -v rejected the new objects; nothing was changed:"
        culprits = foreign_culprits(lines, settings.conf_dir, p.rendered)
        if culprits:  # a hand-written file is broken: reloading would stop Nagios
            head = (
                f"nagios -v rejected the configuration because of {', '.join(culprits)}, "
                "which saltmesh does not own; nothing was changed and Nagios was not "
                "reloaded (it keeps running on the configuration it loaded before):"
            )
        return Outcome(False, {}, head + "\n" + "\n".join(lines), lines)
    what = f"write {len(p.writes)} and remove {len(p.removes)} file(s) in {settings.conf_dir}"
    if test:
        return Outcome(None, p.changes, f"Would {what}; nagios -v on a scratch copy: OK", lines)
    return _activate(p, what, lines)


def _activate(p: Plan, what: str, lines: list[str]) -> Outcome:
    s, conf_dir = p.settings, p.settings.conf_dir
    # ask for the daemon first: a failing systemctl must stop us before any file is touched
    pid = daemon.daemon_pid(s.reload, s.service, daemon.nagios_pid_file(s, p.main))
    os.makedirs(conf_dir, exist_ok=True)
    backup: dict[str, bytes | None] = {n: p.tree.owned.get(n) for n in p.writes + p.removes}
    new: dict[str, bytes | None] = {n: p.rendered[n] for n in p.writes}
    new.update({n: None for n in p.removes})
    try:
        _put_files(conf_dir, new)
    except OSError as err:
        _put_files(conf_dir, backup)
        return Outcome(False, {}, f"could not write {conf_dir}: {err}; previous files restored")
    if pid is None:
        note = "Nagios is not running; it loads them at start"
        if s.reload == "none":
            note = "reload: none, so reload Nagios yourself"
        return Outcome(True, p.changes, f"Validated and did {what}; {note}", lines)
    try:
        problems = daemon.reload_and_confirm(s, p.main, pid)
    except (OSError, CommandError) as err:
        problems = [str(err)]
    if not problems:
        return Outcome(
            True, p.changes, f"Validated, did {what}, reloaded Nagios (pid {pid})", lines
        )
    _put_files(conf_dir, backup)
    return Outcome(False, {}, "; ".join(problems + [_after_rollback(p, pid)]), lines)


def _after_rollback(p: Plan, pid: int) -> str:
    """Put the daemon back on the restored files; say how that went."""
    s = p.settings
    if daemon.alive(pid):
        with contextlib.suppress(OSError, CommandError):
            daemon.send_reload(s.reload, s.service, pid)
        return "previous files restored and Nagios reloaded with them"
    if s.reload == "systemd":
        try:
            daemon.systemctl("start", s.service)
        except CommandError as err:
            return f"previous files restored, but Nagios did not start again: {err}"
        new = daemon.daemon_pid(s.reload, s.service, daemon.nagios_pid_file(s, p.main))
        return f"previous files restored and Nagios started again with them (pid {new})"
    return "previous files restored; Nagios is not running: start it, it loads them"


def nrpe_apply(settings: Settings, pillar: Mapping[str, Any], test: bool = False) -> Outcome:
    """Write the NRPE include file, reload NRPE once if it changed, confirm it survived."""
    s = settings.nrpe
    content = nrpe.render_pillar(settings, pillar)
    nrpe.check_nrpe_main(read_main_config(s.main_config), s)
    path = nrpe.nrpe_path(s)
    try:
        old = Path(path).read_bytes()
    except FileNotFoundError:
        old = None
    if old == content:
        return Outcome(True, {}, f"{path} is current")
    changes = nrpe.nrpe_diff(old, content)
    if test:
        return Outcome(None, changes, f"Would write {path} and reload NRPE")
    pid = daemon.daemon_pid(s.reload, s.service, s.pid_file)
    os.makedirs(s.include_dir, exist_ok=True)
    fileio.write_atomic(path, content)
    if pid is None:
        return Outcome(True, changes, f"Wrote {path}; NRPE is not running (reads it at start)")
    try:
        daemon.send_reload(s.reload, s.service, pid)
        time.sleep(1.0)
        problem = None if daemon.alive(pid) else f"NRPE (pid {pid}) exited after the reload"
    except (OSError, CommandError) as err:
        problem = str(err)
    if problem is None:
        return Outcome(True, changes, f"Wrote {path}, reloaded NRPE (pid {pid})")
    if old is None:
        os.unlink(path)
    else:
        fileio.write_atomic(path, old)
    if s.reload == "systemd":
        with contextlib.suppress(CommandError):
            daemon.systemctl("restart", s.service)
    return Outcome(False, {}, f"{problem}; previous {path} restored")
