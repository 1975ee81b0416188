"""Put rendered Nagios objects live without ever loading a bad configuration.

Pipeline (:func:`apply`): render -> compare with the files saltmesh owns -> pre-check (in
:mod:`saltmesh.nagios`) -> stage the new set in a scratch directory -> ``nagios -v`` on a scratch
copy of the main config that loads the staged set instead of the live one -> only then swap the
files in -> one reload -> confirm the daemon survived and re-read its configuration. Any failure
leaves (or puts back) the previous files. ``test=True`` stops after the validation.

NRPE (:func:`nrpe_apply`) follows the same shape; NRPE has no config check of its own, so the
pre-checks are the pack's and the reload is confirmed by the daemon still being alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saltmesh import inventory, nagios
from saltmesh.errors import CommandError, PillarError, SaltmeshError

_TMP_SUFFIX = ".saltmesh-tmp"  # with a leading dot: neither Nagios nor NRPE loads such a file


# --------------------------------------------------------------------------- main config


@dataclass(frozen=True)
class MainConfig:
    path: str
    text: str
    entries: tuple[tuple[str, str], ...]

    def get(self, key: str, default: str | None = None) -> str | None:
        values = [v for k, v in self.entries if k == key]
        return values[-1] if values else default

    def resolve(self, value: str) -> str:
        return os.path.normpath(os.path.join(os.path.dirname(self.path), value))


def read_main_config(path: str) -> MainConfig:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as err:
        raise SaltmeshError(f"cannot read Nagios main config {path}: {err.strerror}") from None
    return MainConfig(path, text, tuple(nagios.parse_main_config(text)))


def _walk_cfg_dir(root: str) -> Iterator[str]:
    """Files Nagios loads from a cfg_dir: recursive, ``*.cfg``, entries starting with '.' skipped."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if not name.startswith(".") and name.endswith(".cfg") and os.path.isfile(full):
                yield full


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass
class Tree:
    """What the main config loads, split into the files saltmesh owns and everything else."""

    external: list[str] = field(default_factory=list)  # absolute paths, in load order
    owned: dict[str, bytes] = field(default_factory=dict)  # file name in conf_dir -> bytes
    foreign_in_conf_dir: set[str] = field(default_factory=set)
    covered: bool = False  # conf_dir is inside a cfg_dir, so Nagios loads it


def scan_tree(main: MainConfig, conf_dir: str) -> Tree:
    tree = Tree()
    conf_dir = os.path.normpath(conf_dir)
    if os.path.isdir(conf_dir):
        for entry in sorted(os.listdir(conf_dir)):
            full = os.path.join(conf_dir, entry)
            if entry.startswith(".") or not entry.endswith(".cfg") or not os.path.isfile(full):
                continue
            data = Path(full).read_bytes()
            if nagios.is_owned(data):
                tree.owned[entry] = data
            else:
                tree.foreign_in_conf_dir.add(entry)

    def is_owned(path: str) -> bool:
        return os.path.dirname(path) == conf_dir and os.path.basename(path) in tree.owned

    for key, value in main.entries:
        if key == "cfg_file":
            path = main.resolve(value)
            if not is_owned(path):
                tree.external.append(path)
        elif key == "cfg_dir":
            root = main.resolve(value)
            if _inside(conf_dir, root):
                tree.covered = True
            tree.external.extend(p for p in _walk_cfg_dir(root) if not is_owned(p))
    return tree


# --------------------------------------------------------------------------- planning


@dataclass
class Plan:
    settings: nagios.Settings
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


def plan(settings: nagios.Settings, pillar: Mapping[str, Any]) -> Plan:
    """Render and compare; raise PillarError/SaltmeshError on anything a pre-check can see."""
    main = read_main_config(settings.main_config)
    tree = scan_tree(main, settings.conf_dir)
    if not tree.covered:
        raise SaltmeshError(
            f"saltmesh:nagios:conf_dir {settings.conf_dir} is not inside any cfg_dir of "
            f"{main.path}: Nagios would never load it"
        )
    parsed = []
    for path in tree.external:
        with contextlib.suppress(OSError):
            parsed.extend(nagios.parse_objects(Path(path).read_text(errors="replace"), path))
    known = nagios.scan_known(parsed)
    owned_objects = nagios.objects_of_files(tree.owned)
    try:
        inv = inventory.parse(pillar, external_hosts=known.hosts)
    except PillarError as err:
        owned_hosts = [k.split(" ", 1)[1] for k in owned_objects if k.startswith("host ")]
        raise nagios.explain_inventory_error(err, owned_hosts, pillar) from None
    illegal = main.get("illegal_object_name_chars", nagios.DEFAULT_ILLEGAL_CHARS) or ""
    objects = nagios.build_objects(inv, settings, known, illegal)
    rendered = nagios.render_files(objects)
    clash = sorted(set(rendered) & tree.foreign_in_conf_dir)
    if clash:
        raise SaltmeshError(
            f"{settings.conf_dir} holds files saltmesh did not write but needs: {', '.join(clash)}"
        )
    writes = sorted(n for n, data in rendered.items() if tree.owned.get(n) != data)
    removes = sorted(set(tree.owned) - set(rendered))
    changes = nagios.diff_objects(owned_objects, nagios.objects_of_files(rendered))
    if not changes and (writes or removes):
        changes = {"rewritten": sorted(writes + removes)}
    return Plan(settings, main, tree, rendered, changes, writes, removes, len(objects))


# --------------------------------------------------------------------------- validation


def _run(argv: list[str], timeout: int) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise CommandError(argv, 127, f"{argv[0]}: not found") from None
    except subprocess.TimeoutExpired:
        raise CommandError(argv, -1, f"timed out after {timeout}s") from None


def _scratch_config(p: Plan, stage: str) -> str:
    """The main config, loading everything it loads today except saltmesh's files, plus stage."""
    conf_dir = os.path.normpath(p.settings.conf_dir)
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
            if _inside(conf_dir, root):  # expand, leaving our files out
                out += [f"cfg_file={f}" for f in _walk_cfg_dir(root) if f in p.tree.external]
            else:
                out.append(f"cfg_dir={root}")
        elif key in ("resource_file",):
            out.append(f"{key}={p.main.resolve(value)}")
        else:
            out.append(raw)
    out.append(f"cfg_dir={stage}")
    return "\n".join(out) + "\n"


def validate(p: Plan) -> tuple[bool, list[str]]:
    """``nagios -v`` on a scratch copy: the live tree minus our files plus the staged set.

    Returns (ok, lines): ok needs exit 0 *and* ``Total Errors: 0`` (nagioscore#119); lines are
    the validator's errors and warnings, with staged paths shown as their live names.
    """
    tmp = tempfile.mkdtemp(prefix="saltmesh-nagios-")
    os.chmod(tmp, 0o755)  # nagios -v drops to nagios_user before it reads the object files
    try:
        stage = os.path.join(tmp, "stage")
        os.mkdir(stage)
        for name, data in p.rendered.items():
            Path(stage, name).write_bytes(data)
        scratch = os.path.join(tmp, "nagios.cfg")
        Path(scratch).write_text(_scratch_config(p, stage))
        proc = _run([p.settings.binary, "-v", scratch], p.settings.timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    output = (proc.stdout + proc.stderr).replace(stage, p.settings.conf_dir)
    ok = proc.returncode == 0 and re.search(r"^Total Errors:\s+0\s*$", output, re.M) is not None
    lines = [
        ln.strip()
        for ln in output.splitlines()
        if re.match(r"^\s*(Error|Warning|Unable)\b", ln) or "Total Errors" in ln
    ]
    if not ok and not any(ln.startswith(("Error:", "Unable")) for ln in lines):
        lines += [ln for ln in output.splitlines()[-15:] if ln.strip()]
    return ok, lines


# --------------------------------------------------------------------------- daemon control


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _pid_from_file(path: str | None) -> int | None:
    if not path:
        return None
    try:
        pid = int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def daemon_pid(method: str, service: str, pid_file: str | None) -> int | None:
    """PID of the running daemon, or None when it is not running (or not managed)."""
    if method == "signal":
        return _pid_from_file(pid_file)
    if method == "systemd":
        proc = _run(["systemctl", "show", "--property=MainPID", "--value", service], 30)
        pid = int(proc.stdout.strip() or 0) if proc.returncode == 0 else 0
        return pid if pid and _alive(pid) else None
    return None


def send_reload(method: str, service: str, pid: int) -> None:
    if method == "signal":
        os.kill(pid, signal.SIGHUP)
    elif method == "systemd":
        argv = ["systemctl", "reload", service]
        proc = _run(argv, 60)
        if proc.returncode:
            raise CommandError(argv, proc.returncode, proc.stderr)


def _nagios_pid_file(p: Plan) -> str | None:
    return p.settings.pid_file or p.main.get("lock_file")


def _start_marker(main: MainConfig) -> tuple[str | None, int | None]:
    """(program_start from status.dat, mtime of objects.cache): both change on every (re)load."""
    start = None
    status = main.get("status_file")
    if status:
        with contextlib.suppress(OSError):
            m = re.search(r"^\s*program_start=(\d+)", Path(main.resolve(status)).read_text(), re.M)
            start = m.group(1) if m else None
    mtime = None
    cache = main.get("object_cache_file")
    if cache:
        with contextlib.suppress(OSError):
            mtime = os.stat(main.resolve(cache)).st_mtime_ns
    return start, mtime


def daemon_info(settings: nagios.Settings) -> dict[str, Any]:
    main = read_main_config(settings.main_config)
    pid_file = settings.pid_file or main.get("lock_file")
    pid = daemon_pid(settings.reload, settings.service, pid_file)
    start, _ = _start_marker(main)
    return {"pid": pid, "program_start": int(start) if start else None}


def _reload_and_confirm(p: Plan, pid: int) -> list[str]:
    """Reload once; wait until the daemon has re-read its config. Returns problems (empty = ok)."""
    before = _start_marker(p.main)
    method, service = p.settings.reload, p.settings.service
    send_reload(method, service, pid)
    deadline = time.monotonic() + p.settings.timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if not _alive(pid):
            return [f"Nagios (pid {pid}) exited after the reload"]
        marker = _start_marker(p.main)
        if marker != before and marker[0] is not None:
            time.sleep(0.5)  # still alive a moment after it loaded the new objects?
            return [] if _alive(pid) else [f"Nagios (pid {pid}) exited after the reload"]
    return [f"Nagios (pid {pid}) did not report a reload within {p.settings.timeout}s"]


# --------------------------------------------------------------------------- swapping files


def _write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}{_TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _put_files(conf_dir: str, files: Mapping[str, bytes | None]) -> None:
    """Write (bytes) or remove (None) files in conf_dir."""
    for name, data in sorted(files.items()):
        path = os.path.join(conf_dir, name)
        if data is None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        else:
            _write_atomic(path, data)
    dfd = os.open(conf_dir, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


@contextlib.contextmanager
def _locked(conf_dir: str) -> Iterator[None]:
    parent = os.path.dirname(os.path.normpath(conf_dir))
    os.makedirs(parent, exist_ok=True)
    lock = os.path.join(parent, f".{os.path.basename(conf_dir)}.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- apply


@dataclass
class Outcome:
    result: bool | None  # None: test mode with changes pending
    changes: dict[str, Any]
    comment: str
    validator: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "changes": self.changes,
            "comment": self.comment,
            "validator": self.validator,
        }


def apply(settings: nagios.Settings, pillar: Mapping[str, Any], test: bool = False) -> Outcome:
    """Render, validate, swap in, reload once. PillarError/SaltmeshError for pre-check failures."""
    with _locked(settings.conf_dir):
        p = plan(settings, pillar)
        if p.empty:
            return Outcome(
                True, {}, f"{p.objects} Nagios objects in {settings.conf_dir} are current"
            )
        ok, lines = validate(p)
        if not ok:
            return Outcome(
                False,
                {},
                "nagios -v rejected the new objects; nothing was changed:\n" + "\n".join(lines),
                lines,
            )
        what = f"write {len(p.writes)} and remove {len(p.removes)} file(s) in {settings.conf_dir}"
        if test:
            return Outcome(None, p.changes, f"Would {what}; nagios -v on a scratch copy: OK", lines)
        return _activate(p, what, lines)


def _activate(p: Plan, what: str, lines: list[str]) -> Outcome:
    conf_dir = p.settings.conf_dir
    # ask for the daemon first: a failing systemctl must stop us before any file is touched
    pid = daemon_pid(p.settings.reload, p.settings.service, _nagios_pid_file(p))
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
        if p.settings.reload == "none":
            note = "reload: none, so reload Nagios yourself"
        return Outcome(True, p.changes, f"Validated and did {what}; {note}", lines)
    try:
        problems = _reload_and_confirm(p, pid)
    except (OSError, CommandError) as err:
        problems = [str(err)]
    if not problems:
        return Outcome(
            True, p.changes, f"Validated, did {what}, reloaded Nagios (pid {pid})", lines
        )
    _put_files(conf_dir, backup)
    if _alive(pid):
        with contextlib.suppress(OSError, CommandError):
            send_reload(p.settings.reload, p.settings.service, pid)
    elif p.settings.reload == "systemd":
        with contextlib.suppress(CommandError):
            _run(["systemctl", "start", p.settings.service], 120)
    return Outcome(False, {}, "; ".join(problems) + "; previous files restored", lines)


# --------------------------------------------------------------------------- NRPE


def _nrpe_entries(data: bytes | None) -> tuple[str | None, dict[str, str]]:
    allowed, commands = None, {}
    for line in (data or b"").decode(errors="replace").splitlines():
        if line.startswith("allowed_hosts="):
            allowed = line.split("=", 1)[1]
        m = re.match(r"^command\[([^\]]+)\]=(.*)$", line)
        if m:
            commands[m.group(1)] = m.group(2)
    return allowed, commands


def nrpe_diff(old: bytes | None, new: bytes) -> dict[str, Any]:
    old_allowed, old_cmds = _nrpe_entries(old)
    new_allowed, new_cmds = _nrpe_entries(new)
    changes: dict[str, Any] = {}
    if old_allowed != new_allowed:
        changes["allowed_hosts"] = {"old": old_allowed, "new": new_allowed}
    cmd_changes = nagios.diff_objects(
        {k: {"command_line": v} for k, v in old_cmds.items()},
        {k: {"command_line": v} for k, v in new_cmds.items()},
    )
    if cmd_changes:
        changes["commands"] = cmd_changes
    if not changes and old != new:
        changes["rewritten"] = True
    return changes


def _check_nrpe_main(s: nagios.NrpeSettings) -> None:
    """Our file must be read (include_dir) and nothing after it may replace allowed_hosts."""
    main = read_main_config(s.main_config)
    index = None
    for i, (key, value) in enumerate(main.entries):
        if key == "include_dir" and main.resolve(value) == os.path.normpath(s.include_dir):
            index = i
    if index is None:
        raise SaltmeshError(
            f"{s.main_config} has no include_dir={s.include_dir}: NRPE would not read it"
        )
    later = [v for k, v in main.entries[index + 1 :] if k == "allowed_hosts"]
    if later:
        raise SaltmeshError(
            f"{s.main_config} sets allowed_hosts after include_dir={s.include_dir}; that line "
            "would replace the one saltmesh writes"
        )


def nrpe_apply(settings: nagios.Settings, pillar: Mapping[str, Any], test: bool = False) -> Outcome:
    s = settings.nrpe
    inv = inventory.parse(pillar, external_hosts=nagios.referenced_parents(pillar))
    content = nagios.render_nrpe(inv, settings)
    _check_nrpe_main(s)
    path = os.path.join(s.include_dir, s.file)
    try:
        old = Path(path).read_bytes()
    except FileNotFoundError:
        old = None
    if old == content:
        return Outcome(True, {}, f"{path} is current")
    changes = nrpe_diff(old, content)
    if test:
        return Outcome(None, changes, f"Would write {path} and reload NRPE")
    pid = daemon_pid(s.reload, s.service, s.pid_file)
    os.makedirs(s.include_dir, exist_ok=True)
    _write_atomic(path, content)
    if pid is None:
        return Outcome(True, changes, f"Wrote {path}; NRPE is not running (reads it at start)")
    try:
        send_reload(s.reload, s.service, pid)
        time.sleep(1.0)
        problem = None if _alive(pid) else f"NRPE (pid {pid}) exited after the reload"
    except (OSError, CommandError) as err:
        problem = str(err)
    if problem is None:
        return Outcome(True, changes, f"Wrote {path}, reloaded NRPE (pid {pid})")
    if old is None:
        os.unlink(path)
    else:
        _write_atomic(path, old)
    if s.reload == "systemd":
        with contextlib.suppress(CommandError):
            _run(["systemctl", "restart", s.service], 120)
    return Outcome(False, {}, f"{problem}; previous {path} restored")
