"""How long the retention purge takes, and how long any one of its write transactions holds the lock.

    .venv/bin/python bench/retention_bench.py [--rows 200000] [--batch 1000]

`BENCH_SMOKE=1` runs it at a tiny size (2,000 attempts): a check, not a figure. The purge must leave exactly the
recent quarter of the attempts, or the bench exits non-zero.

A fresh, migrated SQLite file (the settings' pragmas); `--rows` attempts of which half are older than
RETENTION_ATTEMPTS_DAYS and a further quarter carry a snapshot older than RETENTION_SNAPSHOTS_DAYS. Prints the
purge's wall time, the rows it touched and the longest single batch (the longest the worker's writes could wait).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.bench import sized  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=sized(200_000, 2_000))
    parser.add_argument("--batch", type=int, default=sized(1000, 100))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="retention-bench-"))
    os.environ.update({"DJANGO_SETTINGS_MODULE": "ops.settings", "OPS_IGNORE_DOTENV": "1", "DEBUG": "0",
                       "SECRET_KEY": "bench-only", "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
                       "VAR_DIR": str(tmp), "LOG_DIR": str(tmp / "logs"), "LOG_LEVEL": "WARNING"})  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from cedula.models import CedulaInfo, LookupAttempt
    from cedula.services import retention

    call_command("migrate", verbosity=0)
    now = timezone.now()
    rows = CedulaInfo.objects.bulk_create([CedulaInfo(cedula=str(10_000_000 + n)) for n in range(1000)])
    old, snap = now - dt.timedelta(days=400), now - dt.timedelta(days=60)
    attempts = []
    for n in range(args.rows):
        started = old if n % 2 == 0 else snap if n % 4 == 1 else now - dt.timedelta(hours=n % 48)
        attempts.append(LookupAttempt(cedula=rows[n % 1000], started_at=started, outcome="error",
                                      snapshot="<html>x</html>" if n % 4 == 1 else ""))  # fmt: skip
    LookupAttempt.objects.bulk_create(attempts, batch_size=5000)

    longest = 0.0
    real_atomic = transaction.atomic

    class TimedAtomic:
        def __enter__(self) -> None:
            self.inner = real_atomic()
            self.inner.__enter__()
            self.start = time.perf_counter()

        def __exit__(self, *exc: Any) -> None:
            nonlocal longest
            self.inner.__exit__(*exc)
            longest = max(longest, time.perf_counter() - self.start)

    # Only the purge's own batches are timed: its module sees a timed `transaction.atomic`, nobody else does.
    setattr(retention, "transaction", SimpleNamespace(atomic=TimedAtomic))  # noqa: B010
    start = time.perf_counter()
    report = retention.retention_purge(batch_size=args.batch)
    wall = time.perf_counter() - start
    left = LookupAttempt.objects.count()
    blanked = LookupAttempt.objects.exclude(snapshot="").count()
    print(json.dumps({"rows": args.rows, "batch": args.batch, "wall_s": round(wall, 2),
                      "attempts_deleted": report.attempts_deleted, "snapshots_blanked": report.snapshots_blanked,
                      "batches": report.batches, "longest_batch_ms": round(longest * 1000, 1),
                      "left": left}))  # fmt: skip
    # Half the rows are past the retention, a quarter carry an old snapshot: what is left is the other half, and none
    # of it keeps a snapshot. Anything else means the purge did not do what this bench times.
    expected_left = args.rows - len(range(0, args.rows, 2))
    if left != expected_left or blanked or report.attempts_deleted != args.rows - expected_left:
        raise SystemExit(f"retention bench: {left} attempts left (expected {expected_left}), {blanked} snapshots kept")


if __name__ == "__main__":
    main()
