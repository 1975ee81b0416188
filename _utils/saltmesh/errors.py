"""Errors of the core. Loader modules turn them into failed states or CommandExecutionError."""

from __future__ import annotations


class SaltmeshError(Exception):
    """Base class of every error the core raises on purpose."""


class PillarError(SaltmeshError):
    """Pillar data failed validation. Carries every problem found, each with its pillar path."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = sorted(set(problems))
        super().__init__(
            "Invalid pillar:\n" + "\n".join(f"  {path}: {msg}" for path, msg in self.problems)
        )


class CommandError(SaltmeshError):
    """An external command (ovs-vsctl, ip, nagios4...) failed."""

    def __init__(self, argv: list[str], returncode: int, stderr: str):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(f"{argv[0]} failed (exit {returncode}): {self.stderr or 'no message'}")
