"""Import 100,000 cedulas through our path and through a plain import-export ModelResource (use_bulk=True).

    .venv/bin/python bench/import_bench.py [--rows 100000] [--only ours|plain]

One generated CSV, the same for both; each path runs in its own process on a fresh, migrated SQLite file (WAL, the
settings' pragmas), so neither warms the other's cache or memory. Prints wall time, peak RSS and the ratio.
"ours" is the admin's confirm step: read the stored file, classify, one query for known cedulas, bulk inserts.
"plain" is import-export's confirm step: tablib dataset, resource.import_data(dry_run=False).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 7.0
MAX_SECONDS = 5.0
MAX_PEAK_MB = 400.0


def _env(db_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ops.settings",
            "OPS_IGNORE_DOTENV": "1",
            "DEBUG": "0",  # DEBUG keeps every query in memory: it would distort both figures
            "SECRET_KEY": "bench-only",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "LOG_LEVEL": "WARNING",
            "LOG_DIR": str(db_path.parent / "logs"),
            "Q_REDIS_URL": "",
            "SENTRY_DSN": "",
        }
    )
    return env


def generate(path: Path, rows: int) -> None:
    rng = random.Random(20240601)
    cedulas = rng.sample(range(1_000_000, 1_999_999_999), rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("cedula,nombre\r\n")
        for number in cedulas:
            fh.write(f"{number},Persona {number % 9973}\r\n")


def run_path(which: str, csv_path: Path, workdir: Path) -> dict[str, float]:
    db_path = workdir / f"{which}.sqlite3"
    env = _env(db_path)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, "--file", str(csv_path)],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(which: str, csv_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from cedula.models import CedulaInfo

    data = csv_path.read_bytes()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    if which == "ours":
        from cedula import services
        from cedula.importing import read_table

        parsed = read_table(data, csv_path.name)
        report = services.cedula_import_rows(rows=parsed.rows, file_name=csv_path.name, user=None)
        assert report.imported and report.new == report.total_rows, report.counts()
    else:
        from import_export import resources
        from import_export.formats.base_formats import CSV

        class PlainResource(resources.ModelResource):
            class Meta:
                model = CedulaInfo
                fields = ("cedula",)
                import_id_fields = ("cedula",)
                use_bulk = True

        dataset = CSV(encoding="utf-8-sig").create_dataset(data.decode("utf-8-sig"))
        result = PlainResource().import_data(dataset, dry_run=False, raise_errors=True)
        assert not result.has_errors()
    elapsed = time.perf_counter() - started
    rows = CedulaInfo.objects.count()
    connection.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak, "rss_before_mb": rss_before, "rows": rows}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=["ours", "plain"])
    parser.add_argument("--child", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file)
        return 0

    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / f"cedulas-{args.rows}.csv"
        generate(csv_path, args.rows)
        print(f"file: {args.rows:,} rows, {csv_path.stat().st_size / 1e6:.1f} MB CSV; SQLite file per path (WAL)")
        results = {}
        for which in ["ours", "plain"] if not args.only else [args.only]:
            r = run_path(which, csv_path, workdir)
            results[which] = r
            print(
                f"{which:>5}: {r['seconds']:7.2f} s  peak RSS {r['peak_mb']:6.0f} MB "
                f"(process before import {r['rss_before_mb']:.0f} MB)  rows in table {r['rows']:,}"
            )
        ok = True
        if "ours" in results:
            ours = results["ours"]
            ok = ours["seconds"] <= MAX_SECONDS and ours["peak_mb"] < MAX_PEAK_MB
            print(f"ours within target (<= {MAX_SECONDS:.0f} s, < {MAX_PEAK_MB:.0f} MB): {'yes' if ok else 'NO'}")
        if len(results) == 2:
            ratio = results["plain"]["seconds"] / results["ours"]["seconds"]
            print(f"ratio plain/ours: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x): {'yes' if ratio >= 7 else 'NO'}")
            ok = ok and ratio >= TARGET_RATIO
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
