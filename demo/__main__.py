"""``make demo``: the operator's day, step by step (``python -m demo [--keep]``).

Prints ``[step N/8] <title>``, what the step did (real command output, abridged) and how long
it took; after each step the checks of :mod:`demo.checks` run, and the demo stops with exit
status 1 at the first one that fails. Everything it created is removed at the end, unless
``--keep`` (then ``make demo-clean`` removes it).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
import warnings
from pathlib import Path

from demo import checks
from demo.day import REPO, STEPS, Day


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo", description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="leave the lab running at the end")
    ap.add_argument("--heal-seconds", type=int, default=10, help="the heal schedule's interval")
    ap.add_argument(
        "--svg", type=Path, default=REPO / "build" / "demo" / "mesh.svg", help="mesh picture"
    )
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)

    started = time.monotonic()
    day = Day(svg=args.svg.resolve(), keep=args.keep, heal_seconds=args.heal_seconds)
    print(f"saltmesh demo: the operator's day ({time.strftime('%Y-%m-%d %H:%M:%S')})", flush=True)
    status = 0
    current = "setup"
    try:
        print("\n[setup] a master, three docker hosts, nagios01 with nagios4, a Slack stand-in")
        t = time.monotonic()
        day.start()
        print(f"    ({time.monotonic() - t:.1f} s)", flush=True)
        for i, (name, title) in enumerate(STEPS, 1):
            current = f"step {i}/{len(STEPS)} ({name})"
            print(f"\n[step {i}/{len(STEPS)}] {title}", flush=True)
            t = time.monotonic()
            facts = getattr(day, name)()
            checks.BY_STEP[name](facts, day)
            print(f"    ({time.monotonic() - t:.1f} s)", flush=True)
    except KeyboardInterrupt:
        print(f"\ninterrupted during {current}", file=sys.stderr)
        status = 130
    except AssertionError as err:
        print(f"\nFAILED {current}: a check did not hold: {err}", file=sys.stderr)
        status = 1
    except Exception as err:
        print(f"\nFAILED {current}: {err}", file=sys.stderr)
        traceback.print_exc(limit=3, file=sys.stderr)
        status = 1
    finally:
        t = time.monotonic()
        print("\n[cleanup] " + ("keeping the lab (--keep)" if args.keep else "removing the lab"))
        day.close()
        print(f"    ({time.monotonic() - t:.1f} s)")
    verdict = "passed" if status == 0 else "FAILED"
    print(f"\ndemo {verdict} in {time.monotonic() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
