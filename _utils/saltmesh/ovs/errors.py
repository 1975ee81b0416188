"""The error of the OVS core for a desired state that is invalid or cannot be reached."""

from __future__ import annotations

from saltmesh.errors import SaltmeshError


class SpecError(SaltmeshError):
    """A desired specification is invalid or cannot be reached from the current state."""
