"""The suite's two container images, built in the background from the start of the session.

On a fresh machine the minion image (``scripts/build-minion-image``) and the systemd box
(:mod:`tests.support.systemd_box`) take about three minutes each. ``tests/conftest.py`` starts
:func:`start` once it has collected a test that needs one; the build runs with the lowest CPU
and I/O priority while earlier tests run, and :func:`wait` (called by both image functions)
blocks until it is over. Either build is a no-op when its image is current. A failed
background build changes nothing: the test's own call builds again and reports the error.

Run by hand: ``python -m tests.support.prebuild minion box``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOG = Path("/tmp/saltmesh-prebuild.log")
_done: dict[str, threading.Event] = {}
_current: list[subprocess.Popen] = []


def start(images: list[str]) -> None:
    """Build ``images`` (``minion``, ``box``), one after the other, in the background."""
    images = [i for i in images if i not in _done]
    for name in images:
        _done[name] = threading.Event()
    if images:
        threading.Thread(target=_build, args=(images,), daemon=True).start()


def _build(images: list[str]) -> None:
    with LOG.open("a") as log:
        for name in images:
            argv = ["ionice", "-c", "3", "nice", "-n", "19", sys.executable, "-m", __name__, name]
            try:
                _current[:] = [subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=log)]
                _current[0].wait()
            finally:
                _done[name].set()


def wait(name: str) -> None:
    """Until the background build of ``name`` (if one was started) is over."""
    if name in _done:
        _done[name].wait()


def stop() -> None:
    """End of the session: a build still running is stopped."""
    for proc in _current:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()


def main(images: list[str]) -> int:
    from tests.support import minion_image, systemd_box

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the builds' cleanup runs

    failed = 0
    for name in images:
        try:
            tag = minion_image.image() if name == "minion" else systemd_box.build_image()
            print(f"prebuild: {name} image {tag}", flush=True)
        except Exception as exc:  # the test that needs it builds again and reports
            print(f"prebuild: {name} image failed: {exc}", flush=True)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
