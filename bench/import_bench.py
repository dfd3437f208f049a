"""Import 100,000 cedulas through our path and through a plain import-export ModelResource (use_bulk=True).

    .venv/bin/python bench/import_bench.py [--rows 100000] [--only ours|plain]

One generated CSV, the same for both; each path runs in its own process on a fresh, migrated SQLite file (WAL, the
settings' pragmas), so neither warms the other's cache or memory. Prints wall time, peak RSS and the ratio.
"ours" is the console's confirm POST (admin test client): read the stored upload, classify, one query for the known
cedulas, one INSERT; the preview POST before it is timed apart. "plain" is what import-export's own confirm step
runs: a tablib dataset and resource.import_data(dry_run=False) with use_bulk=True.

The preview must be the confirmation page and the confirm a redirect that stored every row, or the bench stops: a
login redirect answers fast too. `BENCH_SMOKE=1` runs both paths on 2,000 rows: a check, not a figure (the targets
are not enforced at that size).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.bench import SMOKE, expect_page, sized  # noqa: E402

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
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STAFF_2FA_REQUIRED": "0",  # the bench times the import, not the second factor (DEBUG=0 turns it on)
        }
    )
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"{which}: the import failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def child(which: str, csv_path: Path) -> None:
    import django

    django.setup()
    from django.db import connection

    from cedula.models import CedulaInfo

    data = csv_path.read_bytes()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    extra = {}
    if which == "ours":
        # Through the console itself: upload (preview), then time the confirm POST.
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.test import Client
        from django.test.utils import override_settings
        from django.urls import reverse

        from ops.accounts.models import User

        # DEBUG is off (see _env) and nothing ran collectstatic: plain static storage for the rendered pages.
        override_settings(
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            }
        ).enable()
        client = Client()
        client.force_login(User.objects.create_superuser(email="bench@example.com", password="bench-only-123"))
        started = time.perf_counter()
        preview = client.post(
            reverse("admin:cedula_cedulainfo_import"), {"import_file": SimpleUploadedFile(csv_path.name, data)}
        )
        extra["preview_seconds"] = time.perf_counter() - started
        expect_page("preview", preview.status_code, preview.content, 'name="import_file_name"')
        page = preview.content.decode()
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
        started, cpu_started = time.perf_counter(), _cpu()
        done = client.post(reverse("admin:cedula_cedulainfo_process_import"), fields)
        expect_page("confirm", done.status_code, done.get("Location", ""), "/cedulainfo/", expected_status=302)
    else:
        from import_export import resources
        from import_export.formats.base_formats import CSV

        class PlainResource(resources.ModelResource):
            class Meta:
                model = CedulaInfo
                fields = ("cedula",)
                import_id_fields = ("cedula",)
                use_bulk = True

        started, cpu_started = time.perf_counter(), _cpu()
        dataset = CSV(encoding="utf-8-sig").create_dataset(data.decode("utf-8-sig"))
        result = PlainResource().import_data(dataset, dry_run=False, raise_errors=True)
        assert not result.has_errors()
    elapsed = time.perf_counter() - started
    extra["cpu_seconds"] = _cpu() - cpu_started
    rows = CedulaInfo.objects.count()
    expected = sum(1 for _ in csv_path.open(encoding="utf-8")) - 1
    if rows != expected:
        raise SystemExit(f"{which}: {rows:,} rows stored of {expected:,} in the file (not the import this bench times)")
    connection.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": elapsed, "peak_mb": peak, "rss_before_mb": rss_before, "rows": rows, **extra}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=sized(100_000, 2_000))
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
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (cpu = the importing process's own time)"
        )
        results = {}
        for which in ["ours", "plain"] if not args.only else [args.only]:
            r = run_path(which, csv_path, workdir)
            results[which] = r
            step = "confirm" if which == "ours" else "import_data"
            print(
                f"{which:>5}: {step} {r['seconds']:6.2f} s (cpu {r['cpu_seconds']:.2f} s)  "
                f"peak RSS {r['peak_mb']:4.0f} MB (before import {r['rss_before_mb']:.0f} MB)  rows {r['rows']:,}"
                + (f"  [preview {r['preview_seconds']:.2f} s]" if "preview_seconds" in r else "")
            )
        ok = True
        if "ours" in results:
            ours = results["ours"]
            ok = ours["seconds"] <= MAX_SECONDS and ours["peak_mb"] < MAX_PEAK_MB
            print(f"ours within target (<= {MAX_SECONDS:.0f} s, < {MAX_PEAK_MB:.0f} MB): {'yes' if ok else 'NO'}")
        if len(results) == 2:
            ratio = results["plain"]["seconds"] / results["ours"]["seconds"]
            verdict = "yes" if ratio >= TARGET_RATIO else "NO"
            print(f"ratio plain/ours: {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x): {verdict}")
            ok = ok and ratio >= TARGET_RATIO
    if SMOKE:
        print("(BENCH_SMOKE=1: pages and rows checked; the targets mean nothing at this size and are not enforced)")
    return 0 if ok or SMOKE else 1


if __name__ == "__main__":
    sys.exit(main())
