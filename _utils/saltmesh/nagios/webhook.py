"""Posting JSON to a Slack incoming webhook (needs ``requests``: the ``slack`` extra).

The webhook URL is a secret (its path is the credential): errors name only its scheme and host.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from saltmesh.errors import SaltmeshError

try:
    import requests
except ImportError:  # pragma: no cover
    requests = None


def available() -> bool:
    """True when ``requests`` is installed."""
    return requests is not None


def redact(url: str) -> str:
    """``scheme://host[:port]/...``: the URL without its secret path."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/..."
    except ValueError:
        return "<webhook URL>"


def post(url: str, payload: Any, timeout: float = 10) -> None:
    """POST ``payload`` as JSON; SaltmeshError when the network or Slack refuses it."""
    if requests is None:
        raise SaltmeshError("posting to Slack needs the requests library")
    try:
        resp = requests.post(url, json=payload, timeout=timeout)
    except requests.RequestException as err:
        # requests' messages quote the whole URL: name the error and the host only
        raise SaltmeshError(f"{type(err).__name__} posting to {redact(url)}") from None
    if resp.status_code >= 300:
        raise SaltmeshError(f"HTTP {resp.status_code}: {resp.text[:200]}")
