"""How saltmesh marks the containers it owns, and how it reads that mark back (pure).

Only a container labelled ``saltmesh.managed=true`` is ever changed or removed; the
``saltmesh.host`` label records the docker host it was placed on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.inventory import ContainerSpec

MANAGED_LABEL = "saltmesh.managed"
HOST_LABEL = "saltmesh.host"


def managed_labels(spec: ContainerSpec, host: str | None) -> dict[str, str]:
    """The labels saltmesh puts on a container, user labels first."""
    labels = dict(spec.labels or ())
    labels[MANAGED_LABEL] = "true"
    if host:
        labels[HOST_LABEL] = host
    return labels


def labels_of(inspect_or_summary: Mapping[str, Any]) -> dict[str, str]:
    """The labels of a container inspect (``Config.Labels``) or listing entry (``Labels``)."""
    labels = (inspect_or_summary.get("Config") or {}).get("Labels")
    if labels is None:
        labels = inspect_or_summary.get("Labels") or {}
    return labels


def is_managed(inspect_or_summary: Mapping[str, Any]) -> bool:
    return labels_of(inspect_or_summary).get(MANAGED_LABEL) == "true"


def summary_name(summary: Mapping[str, Any]) -> str:
    """The name of a container in a ``/containers/json`` listing entry, without the slash."""
    names = summary.get("Names") or ["/"]
    return names[0].lstrip("/")


def strays(listing: Mapping[str, Mapping[str, Any]], keep: Iterable[str], host: str) -> list[str]:
    """Managed containers labelled with ``host`` whose name is not in ``keep``, sorted."""
    keep = set(keep)
    return sorted(
        name
        for name, summary in listing.items()
        if name not in keep and is_managed(summary) and labels_of(summary).get(HOST_LABEL) == host
    )


def table(summaries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{name: {state, image, host}}`` of managed containers, from a listing."""
    return {
        summary_name(summary): {
            "state": summary.get("State"),
            "image": summary.get("Image"),
            "host": labels_of(summary).get(HOST_LABEL),
        }
        for summary in summaries
    }
