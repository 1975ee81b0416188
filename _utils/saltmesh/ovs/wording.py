"""The wording of every ovs_*/openvswitch_* state return (created, updated, removed...). Pure.

The comment is composed here; the return itself is built by :mod:`saltmesh.stateret`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.ovs.clauses import Changes
from saltmesh.stateret import failed, state_ret


def verb(noun: str, changes: Changes) -> str:
    """``created``, ``removed`` or ``updated``: what ``changes`` did to the ``noun`` itself."""
    head = changes.get(noun.lower(), {})
    if isinstance(head, dict) and "old" in head and head.get("old") is None:
        return "created"
    if isinstance(head, dict) and "new" in head and head.get("new") is None:
        return "removed"
    return "updated"


def comment(
    label: str,
    noun: str,
    changes: Changes | None,
    *,
    test: bool = False,
    iface_errors: Mapping[str, str] | None = None,
) -> str:
    """``Port p created``, ``Port p would be created``, ``Port p is already as requested``.

    ``iface_errors`` (interface -> vswitchd's ``Interface.error``) are appended to the comment
    of an in-sync port, e.g. a system port whose netdev has disappeared.
    """
    if not changes:
        text = f"{noun} {label} is already as requested"
        if iface_errors:
            text += "; OVS reports " + "; ".join(
                f"{i}: {e}" for i, e in sorted(iface_errors.items())
            )
        return text
    if test:
        return f"{noun} {label} would be {verb(noun, changes)}"
    return f"{noun} {label} {verb(noun, changes)}"


def ovs_ret(
    name: str,
    noun: str,
    changes: Changes | None = None,
    test: bool = False,
    error: str | None = None,
    iface_errors: Mapping[str, str] | None = None,
    *,
    label: str | None = None,
) -> dict[str, Any]:
    """The state return for ``changes`` to the ``noun`` (Bridge, Port, Record) ``name``.

    ``error``: a failed return with that comment. ``label``: what the comment calls the object
    when it is not ``name`` (``ovs_db.managed``: ``Bridge br0`` for a state ID ``x``).
    """
    if error is not None:
        return failed(name, error)
    text = comment(
        name if label is None else label, noun, changes, test=test, iface_errors=iface_errors
    )
    return state_ret(name, changes=changes, comment=text, test=test)
