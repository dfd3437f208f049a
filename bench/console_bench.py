"""Console speed at scale: 1,000,000 CedulaInfo and 3,000,000 LookupAttempt rows on SQLite.

    .venv/bin/python bench/console_bench.py [--runs 7] [--regenerate]

The data is generated once into var/bench/console.sqlite3 (raw executemany with the indexes dropped and rebuilt
afterwards) and reused on later runs. The figures are median server times of the Django test client (no network),
logged in as a superuser: the dashboard, its 30 s refresh fragment, and the first changelist page with each single
filter. The target is <= 300 ms for every line; a Prometheus scrape of /metrics has its own, <= 150 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "var" / "bench"
DB_PATH = BENCH_DIR / "console.sqlite3"
READY = BENCH_DIR / "console.ready"

N_CEDULAS = 1_000_000
N_ATTEMPTS = 3_000_000
N_BATCHES = 20
HISTORY_DAYS = 178  # 3M attempts at <= 720 an hour (one request every 5 s) span about this long
TARGET_MS = 300.0
METRICS_TARGET_MS = 150.0
METRICS_TOKEN = "bench-scrape-token"  # noqa: S105 - a bench-only value

os.environ["DATABASE_URL"] = f"sqlite:///{DB_PATH}"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
os.environ["SECURE_SSL_REDIRECT"] = "0"
os.environ["OPS_IGNORE_DOTENV"] = "1"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops.settings")
sys.path.insert(0, str(BASE_DIR))

DEPARTAMENTOS = [
    "AMAZONAS", "ANTIOQUIA", "ARAUCA", "ATLANTICO", "BOGOTA D.C.", "BOLIVAR", "BOYACA", "CALDAS", "CAQUETA",
    "CASANARE", "CAUCA", "CESAR", "CHOCO", "CORDOBA", "CUNDINAMARCA", "GUAINIA", "GUAVIARE", "HUILA", "LA GUAJIRA",
    "MAGDALENA", "META", "NARIÑO", "NORTE DE SANTANDER", "PUTUMAYO", "QUINDIO", "RISARALDA", "SAN ANDRES",
    "SANTANDER", "SUCRE", "TOLIMA", "VALLE", "VAUPES", "VICHADA",
]  # fmt: skip
ERROR_KINDS = ["blocked", "captcha", "timeout", "network", "unexpected_page", "server_error", "rate_limited"]


def _ts(value: dt.datetime) -> str:
    # Django's SQLite format for an aware datetime stored in UTC.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(now: dt.datetime) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    READY.unlink(missing_ok=True)
    call_command("migrate", verbosity=0)
    from django.db import connections

    connections.close_all()

    started = time.perf_counter()
    rnd = random.Random(6)
    db = sqlite3.connect(DB_PATH)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    tables = ("cedula_cedulainfo", "cedula_lookupattempt")
    index_sql = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN (?, ?)", tables
        )
    ]
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN (?, ?)", tables
    ).fetchall():
        db.execute(f'DROP INDEX "{name}"')

    history = dt.timedelta(days=HISTORY_DAYS)
    batch_size = N_CEDULAS // N_BATCHES
    db.executemany(
        "INSERT INTO cedula_importbatch (id, created_at, file_name, total_rows, new_rows, existing_rows, requeued_rows,"
        " duplicate_rows, invalid_rows) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0)",
        [
            (b + 1, _ts(now - history + history * b / N_BATCHES), f"padron-{b + 1:02d}.csv", batch_size, batch_size)
            for b in range(N_BATCHES)
        ],
    )

    # The last batch and a half is still being worked through: pending and due; a few rows wait for a retry.
    pending_from = N_CEDULAS - int(batch_size * 1.5)
    rows: list[tuple[Any, ...]] = []
    for i in range(1, N_CEDULAS + 1):
        batch = (i - 1) // batch_size + 1
        # An import writes its rows over a few seconds: each row gets its own creation time.
        created = now - history + history * (batch - 1) / N_BATCHES + dt.timedelta(microseconds=50 * i)
        dep = rnd.choice(DEPARTAMENTOS)
        next_at = last_checked = None
        error_kind = last_error = ""
        check_count = attempts = 0
        if i > pending_from:
            status = "pending"
            next_at = created
            if rnd.random() < 0.02:
                attempts = rnd.randint(1, 3)
                error_kind = rnd.choice(ERROR_KINDS)
                last_error = "Página inesperada"
                next_at = now + dt.timedelta(seconds=rnd.randint(10, 120))
            dep = ""
        else:
            r = rnd.random()
            status = "active" if r < 0.78 else "cancelled" if r < 0.84 else "not_found" if r < 0.96 else "error"
            last_checked = created + (now - created) * rnd.random()
            check_count = rnd.randint(1, 5)
            if status == "error":
                error_kind = rnd.choice(ERROR_KINDS)
                last_error = "Sin respuesta del registro"
            if status != "active":
                dep = ""
        updated = last_checked or created
        source = "import" if rnd.random() < 0.95 else rnd.choice(["registration", "admin", "refresh"])
        rows.append((
            i, str(1_000_000_000 + i * 997), status, source, 10, batch if source == "import" else None,
            dep, "MUNICIPIO" if dep else "", "PUESTO 1" if dep else "", "CALLE 1" if dep else "",
            "001" if dep else "", "", "", None, _ts(last_checked) if last_checked else None, last_error, error_kind,
            check_count, attempts, _ts(next_at) if next_at else None, None, "", "", _ts(created), _ts(updated), None,
        ))  # fmt: skip
        if len(rows) == 100_000:
            _insert_cedulas(db, rows)
            rows = []
    _insert_cedulas(db, rows)
    # One row held by the worker right now.
    db.execute(
        "UPDATE cedula_cedulainfo SET claimed_at=?, next_attempt_at=NULL, claim_token='x', claimed_by='bench:1'"
        " WHERE id=?",
        (_ts(now), pending_from + 1),
    )

    span = history.total_seconds()
    rows = []
    for i in range(1, N_ATTEMPTS + 1):
        started_at = now - history + dt.timedelta(seconds=span * i / N_ATTEMPTS)
        r = rnd.random()
        outcome = "active" if r < 0.72 else "cancelled" if r < 0.78 else "not_found" if r < 0.9 else "error"
        kind = rnd.choice(ERROR_KINDS) if outcome == "error" else ""
        rows.append((
            i, rnd.randint(1, pending_from), _ts(started_at), rnd.randint(900, 6000), outcome, kind,
            "Sin respuesta del registro" if kind else "", 1, 4242, "", "",
        ))  # fmt: skip
        if len(rows) == 200_000:
            _insert_attempts(db, rows)
            rows = []
    _insert_attempts(db, rows)
    db.commit()
    print(f"rows inserted in {time.perf_counter() - started:.0f} s; building indexes", flush=True)
    for sql in index_sql:
        db.execute(sql)
    db.commit()
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    READY.write_text(now.isoformat())
    print(f"generated in {time.perf_counter() - started:.0f} s: {DB_PATH}", flush=True)


def _insert_cedulas(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "INSERT INTO cedula_cedulainfo (id, cedula, status, source, priority, import_batch_id, departamento,"
        " municipio, puesto, direccion, mesa, novedad, resolucion, fecha_novedad, last_checked, last_error,"
        " error_kind, check_count, attempts, next_attempt_at, claimed_at, claim_token, claimed_by, created_at,"
        " updated_at, user_id) VALUES (" + ",".join("?" * 26) + ")",
        rows,
    )


def _insert_attempts(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "INSERT INTO cedula_lookupattempt (id, cedula_id, started_at, duration_ms, outcome, error_kind, message,"
        " attempt, worker_pid, task_id, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def measure(runs: int, only: str = "") -> list[tuple[str, float, float]]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a database generated before a later migration
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from ops.accounts.models import User

    admin_user = User.objects.filter(email="bench@example.com").first()
    if admin_user is None:
        admin_user = User.objects.create_superuser(email="bench@example.com", password="bench-only-123")
    client = Client()
    client.force_login(admin_user)

    now = dt.datetime.now(dt.UTC)
    week_ago = (now - dt.timedelta(days=7)).strftime("%Y-%m-%d")
    changelist = reverse("admin:cedula_cedulainfo_changelist")
    attempts = reverse("admin:cedula_lookupattempt_changelist")
    pages = [
        ("dashboard", reverse("admin:index")),
        ("dashboard fragment (30 s refresh)", reverse("admin:cedula_cedulainfo_dashboard")),
        ("cedulas: no filter", changelist),
        ("cedulas: status=active", f"{changelist}?status__exact=active"),
        ("cedulas: status=error", f"{changelist}?status__exact=error"),
        ("cedulas: status=pending", f"{changelist}?status__exact=pending"),
        ("cedulas: error_kind=blocked", f"{changelist}?error_kind__exact=blocked"),
        ("cedulas: source=registration", f"{changelist}?source__exact=registration"),
        ("cedulas: batch=7", f"{changelist}?import_batch__id__exact=7"),
        ("cedulas: departamento=CAUCA", f"{changelist}?departamento=CAUCA"),
        ("cedulas: last checked, last 7 days",
         f"{changelist}?last_checked_from_0={week_ago}&last_checked_from_1=00:00"),
        ("cedulas: search 1.000.997.000", f"{changelist}?q=1.000.997.000"),
        ("attempts: no filter", attempts),
        ("attempts: outcome=error", f"{attempts}?outcome__exact=error"),
        ("attempts: error_kind=timeout", f"{attempts}?error_kind__exact=timeout"),
        ("attempts: started, last 7 days", f"{attempts}?started_at_from_0={week_ago}&started_at_from_1=00:00"),
        ("/metrics (Prometheus scrape)", "/metrics"),
    ]  # fmt: skip
    pages = [(label, url) for label, url in pages if label.startswith(only)]
    results = []
    # Static files are not collected for the bench; the plain storage keeps {% static %} working.
    with override_settings(STORAGES={
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }, METRICS_TOKEN=METRICS_TOKEN):  # fmt: skip
        for label, url in pages:
            times, cpu = [], []
            for run in range(runs + 1):
                t0, c0 = time.perf_counter(), time.process_time()
                # A scrape carries its bearer token and no session (Prometheus is not logged in).
                scraper = url == "/metrics"
                headers = {"Authorization": f"Bearer {METRICS_TOKEN}"} if scraper else {}
                response = (Client() if scraper else client).get(url, headers=headers)
                elapsed, used = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{label}: HTTP {response.status_code} for {url}")
                if run:  # the first request warms the page cache and the template loader
                    times.append(elapsed)
                    cpu.append(used)
            results.append((label, statistics.median(times), statistics.median(cpu)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--only", default="", help="measure only the lines whose label starts with this")
    args = parser.parse_args()
    if args.regenerate or not READY.exists():
        generate(dt.datetime.now(dt.UTC).replace(microsecond=0))
    if args.generate_only:
        return
    results = measure(args.runs, only=args.only)
    load = os.getloadavg()[0]
    print(f"console bench: {N_CEDULAS:,} cedulas, {N_ATTEMPTS:,} attempts, SQLite, median of {args.runs} runs")
    print(f"  (load average {load:.1f} on {os.cpu_count()} cores; cpu = this process's CPU time, unaffected by others)")
    print(f"  {'page':<40} {'wall':>9} {'cpu':>9}")
    for label, ms, cpu in results:
        verdict = "ok" if ms <= (METRICS_TARGET_MS if label.startswith("/metrics") else TARGET_MS) else "SLOW"
        print(f"  {label:<40} {ms:6.1f} ms {cpu:6.1f} ms   {verdict}")
    for prefix, target in (("", TARGET_MS), ("/metrics", METRICS_TARGET_MS)):
        lines = [ms for label, ms, _ in results if label.startswith("/metrics") == bool(prefix)]
        if lines:
            print(f"  worst wall {max(lines):.1f} ms = {max(lines) / target:.2f} x the {target:.0f} ms target")


if __name__ == "__main__":
    main()
