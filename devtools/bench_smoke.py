"""Run every bench once at its tiny size (BENCH_SMOKE=1), so that none of them rots: `make bench-smoke`, run by CI.

Every bench/*.py found is run, each in its own process from the project root, with a time limit. A bench that exits
non-zero (it stops when a response is not the page it meant to time), or that outlives its limit, fails the run. The
figures printed at that size mean nothing; that the bench still runs and checks its pages is what is tested.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# "Well under a minute" each on a quiet machine; the limit leaves room for a loaded CI box, not for a full-size run.
LIMIT_S = 180.0


def benches(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / "bench").glob("*.py") if not p.name.startswith("_"))


def run(path: Path, *, limit_s: float) -> tuple[bool, float, str]:
    # A bench that never reads BENCH_SMOKE would run at full size for minutes: say so at once instead.
    if "BENCH_SMOKE" not in path.read_text() and "devtools.bench" not in path.read_text():
        return False, 0.0, f"{path.name} does not support BENCH_SMOKE=1 (see devtools/bench.py)"
    env = {**os.environ, "BENCH_SMOKE": "1", "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit_s,
            check=False,
            start_new_session=True,  # a bench that hangs is stopped with everything it started
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return False, time.monotonic() - started, out + f"\nstopped after {limit_s:.0f} s"
    return done.returncode == 0, time.monotonic() - started, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these benches (file names, with or without .py)")
    parser.add_argument("--limit", type=float, default=LIMIT_S, help="seconds each bench may take")
    args = parser.parse_args()
    found = benches()
    if args.names:
        wanted = {n.removesuffix(".py") for n in args.names}
        found = [p for p in found if p.stem in wanted]
    if not found:
        print("bench smoke: no bench found", file=sys.stderr)
        return 1
    failures = []
    for path in found:
        ok, took, output = run(path, limit_s=args.limit)
        print(f"bench smoke: {path.name:<22} {'ok' if ok else 'FAILED':<7} {took:6.1f} s", flush=True)
        if not ok:
            failures.append(path.name)
            tail = "\n".join(output.rstrip().splitlines()[-25:])
            print("    " + tail.replace("\n", "\n    "), flush=True)
    load = os.getloadavg()[0]
    print(f"bench smoke: {len(found) - len(failures)} of {len(found)} passed (load average {load:.1f})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
