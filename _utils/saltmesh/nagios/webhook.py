"""Posting JSON to a Slack incoming webhook (needs ``requests``: the ``slack`` extra)."""

from __future__ import annotations

from typing import Any

from saltmesh.errors import SaltmeshError

try:
    import requests
except ImportError:  # pragma: no cover
    requests = None


def available() -> bool:
    """True when ``requests`` is installed."""
    return requests is not None


def post(url: str, payload: Any, timeout: float = 10) -> None:
    """POST ``payload`` as JSON; SaltmeshError when the network or Slack refuses it."""
    if requests is None:
        raise SaltmeshError("posting to Slack needs the requests library")
    try:
        resp = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as err:
        raise SaltmeshError(str(err)) from None
    if resp.status_code >= 300:
        raise SaltmeshError(f"HTTP {resp.status_code}: {resp.text[:200]}")
