"""Access layer: the only Docker client of saltmesh, a counted ``docker.APIClient``.

Every engine error (refused request, unreachable socket) becomes :class:`EngineError` with the
engine's own message; a missing container or image reads as ``None``.
"""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from saltmesh.containers.follow import docker_time
from saltmesh.containers.labels import MANAGED_LABEL
from saltmesh.errors import SaltmeshError

try:
    import docker
    import docker.errors
    import requests.exceptions

    HAS_DOCKER = True
    _ERRORS: tuple[type[Exception], ...] = (
        docker.errors.DockerException,
        requests.exceptions.RequestException,
    )
except ImportError:  # pragma: no cover - exercised by __virtual__
    HAS_DOCKER = False
    _ERRORS = ()

DEFAULT_URL = "unix:///var/run/docker.sock"


class EngineError(SaltmeshError):
    """The Docker engine refused a request or could not be reached; carries its message."""


def _url(url: str | None) -> str:
    return url or os.environ.get("DOCKER_HOST") or DEFAULT_URL


def engine_unreachable(url: str | None) -> str | None:
    """Why the engine at ``url`` cannot be reached (a socket connect, no API request), or None."""
    url = _url(url)
    if not url.startswith("unix://"):
        return None  # tcp/ssh engines are checked on first use
    path = url[len("unix://") :]
    if not os.path.exists(path):
        return f"Docker engine socket {path} does not exist (is dockerd running?)"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2)
        sock.connect(path)
    except OSError as err:
        return f"Docker engine socket {path} refuses connections: {err}"
    finally:
        sock.close()
    return None


def _engine_error(err: Exception) -> EngineError:
    if isinstance(err, docker.errors.APIError):
        return EngineError(f"Docker engine: {err.explanation or err}")
    return EngineError(f"Docker engine: {err}")


class Engine:
    """A thin counted wrapper around ``docker.APIClient`` that turns engine errors into EngineError.

    Usable as a context manager (closes the client on exit).
    """

    def __init__(self, url: str | None = None, timeout: int = 60, version: str | None = None):
        """``version``: the API version if already known (skips the ``/version`` request)."""
        if not HAS_DOCKER:
            raise EngineError("the docker Python SDK is not installed (pip install docker)")
        self._images: dict[str, dict | None] = {}
        self._lock = threading.Lock()
        try:
            self.api = docker.APIClient(
                base_url=_url(url), version=version or "auto", timeout=timeout
            )
        except _ERRORS as err:
            raise _engine_error(err) from None
        self.requests = 0 if version else 1  # /version, sent by version="auto"
        self.api.hooks["response"].append(self._count)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> str:
        return self.api.api_version

    def _count(self, response, *args, **kwargs):
        with self._lock:
            self.requests += 1
        return response

    def call(self, method: str, *args, **kwargs) -> Any:
        try:
            return getattr(self.api, method)(*args, **kwargs)
        except _ERRORS as err:
            raise _engine_error(err) from None
        except OSError as err:  # a file the SDK reads (import), a socket it was not wrapping
            raise EngineError(f"Docker engine: {method}: {err}") from None

    def _inspect(self, method: str, name: str) -> dict | None:
        try:
            return getattr(self.api, method)(name)
        except docker.errors.NotFound:
            return None
        except _ERRORS as err:
            raise _engine_error(err) from None

    def inspect_container(self, name: str) -> dict | None:
        return self._inspect("inspect_container", name)

    def inspect_image(self, name: str, cached: bool = True) -> dict | None:
        if cached and name in self._images:
            return self._images[name]
        data = self._images[name] = self._inspect("inspect_image", name)
        return data

    def inspect_containers(self, names: list[str], workers: int = 8) -> dict[str, dict | None]:
        """Inspect several containers concurrently (the engine serves requests in parallel)."""
        if len(names) <= 1:
            return {name: self.inspect_container(name) for name in names}
        with ThreadPoolExecutor(max_workers=min(workers, len(names))) as pool:
            return dict(zip(names, pool.map(self.inspect_container, names), strict=True))

    def managed(self) -> list[dict]:
        """The sparse listing of every container carrying our label (running or not)."""
        return self.call("containers", all=True, filters={"label": f"{MANAGED_LABEL}=true"})

    def load_image_file(self, path: str) -> None:
        """``docker load`` the ``docker save`` archive at ``path``."""
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as err:
            raise SaltmeshError(f"{path}: cannot read it: {err.strerror or err}") from None
        self.call("load_image", data, quiet=True)

    def wait_for_start(self, until: float, since: float | None = None) -> bool:
        """Block until a managed container starts (True) or the epoch time ``until`` (False).

        ``since``: count starts from that epoch time on, replayed by the engine when past.
        """
        filters = {"type": "container", "event": "start", "label": f"{MANAGED_LABEL}=true"}
        kwargs = {"until": docker_time(until), "filters": filters, "decode": True}
        if since is not None:
            kwargs["since"] = docker_time(since)
        stream = self.call("events", **kwargs)
        try:
            for _event in stream:
                return True
        except _ERRORS as err:
            raise _engine_error(err) from None
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return False

    def close(self) -> None:
        self.api.close()
