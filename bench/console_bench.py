"""Console speed at scale: 1,000,000 CedulaInfo, 3,000,000 LookupAttempt and 100,000 CedulaChange rows on SQLite.

    .venv/bin/python bench/console_bench.py [--runs 7] [--regenerate]

The data is generated once into var/bench/console.sqlite3 (raw executemany with the indexes dropped and rebuilt
afterwards) and reused on later runs. The figures are median server times of the Django test client (no network),
logged in as a superuser: the dashboard, its 30 s refresh fragment, and the first changelist page with each single
filter, the "Cambios" list with each filter. The target is <= 300 ms for every line. The re-validation job's pick of
2,000 rows (and the pick plus the re-queue, rolled back) is timed on the same database: target <= 200 ms.

Batches (issue 15), inside a transaction that is rolled back (the database is left as generated): the last 100,000
cedulas become one batch (25,000 answered, 75,000 still queued). Its page with the ETA must answer in <= 300 ms;
then all 100,000 are made failed and "Reintentar las fallidas" runs on the changelist filter that matches them
(status=error and that batch), which must take <= 5 s and read no row into Python.
A Prometheus scrape of /metrics has its own target, <= 150 ms.

The bench logs in as a real staff member would, production settings and all (DEBUG off, second factor required): the
password on /admin/login/, then a code of a confirmed TOTP device on /admin/2fa/. Every timed response must be the
page it names (HTTP 200 and a marker only that page carries), or the bench stops: a redirect is not a page.
`BENCH_SMOKE=1` runs it at a tiny size (2,000 cedulas, its own file var/bench/console-smoke.sqlite3, one run): a
check that it still measures what it says, not a figure.
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
sys.path.insert(0, str(BASE_DIR))

from devtools.bench import SMOKE, expect_page, sized, totp_code  # noqa: E402

BENCH_DIR = BASE_DIR / "var" / "bench"
DB_PATH = BENCH_DIR / sized("console.sqlite3", "console-smoke.sqlite3")
READY = BENCH_DIR / sized("console.ready", "console-smoke.ready")

N_CEDULAS = sized(1_000_000, 2_000)
N_ATTEMPTS = sized(3_000_000, 6_000)
N_CHANGES = sized(100_000, 200)
N_BATCHES = 20
BATCH_ROWS = sized(100_000, 200)  # the batch made of the last cedulas
PICK = sized(2000, 20)  # the re-validation job's pick
HISTORY_DAYS = 178  # 3M attempts at <= 720 an hour (one request every 5 s) span about this long
TARGET_MS = 300.0
PICK_TARGET_MS = 200.0
METRICS_TARGET_MS = 150.0
METRICS_TOKEN = "bench-scrape-token"  # noqa: S105 - a bench-only value

os.environ["DATABASE_URL"] = f"sqlite:///{DB_PATH}"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
os.environ["SECURE_SSL_REDIRECT"] = "0"
# Production settings, whatever the shell says: DEBUG off (its overhead is not the console's), second factor on.
os.environ["DEBUG"] = "0"
os.environ["STAFF_2FA_REQUIRED"] = "1"
os.environ["STATIC_MANIFEST"] = "0"  # static files are not collected for the bench
os.environ["OPS_IGNORE_DOTENV"] = "1"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops.settings")
os.environ.setdefault("LOG_DIR", str(BENCH_DIR / "logs"))

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
    tables = ("cedula_cedulainfo", "cedula_lookupattempt", "cedula_cedulachange")
    index_sql = [
        sql
        for (sql,) in db.execute(
            "SELECT sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN (?, ?, ?)", tables
        )
    ]
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN (?, ?, ?)", tables
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
            0, None,
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
    _insert_changes(db, rnd, now=now, history=history, answered=pending_from, batch_size=batch_size)
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
        " updated_at, user_id, changed_at_last_check, owner_seen_at) VALUES (" + ",".join("?" * 28) + ")",
        rows,
    )


def _insert_attempts(db: sqlite3.Connection, rows: list[tuple]) -> None:
    db.executemany(
        "INSERT INTO cedula_lookupattempt (id, cedula_id, started_at, duration_ms, outcome, error_kind, message,"
        " attempt, worker_pid, task_id, snapshot, selector_fallbacks) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
        rows,
    )


def _insert_changes(
    db: sqlite3.Connection,
    rnd: random.Random,
    *,
    now: dt.datetime,
    history: dt.timedelta,
    answered: int,
    batch_size: int,
) -> None:
    """100,000 changes over the history (60 % place, 25 % status, 15 % cancellation data); the rows of the newest
    10,000 read "changed at last check"."""
    span = history.total_seconds()
    rows, changed = [], []
    for i in range(1, N_CHANGES + 1):
        cedula_id = rnd.randint(1, answered)
        r = rnd.random()
        kind = "place" if r < 0.6 else "status" if r < 0.85 else "cancellation"
        if kind == "place":
            old, new, statuses = '{"mesa": "001"}', '{"mesa": "002"}', ("active", "active")
        elif kind == "status":
            old, new = '{"status": "active", "mesa": "001"}', '{"status": "cancelled", "mesa": ""}'
            statuses = ("active", "cancelled")
        else:
            old, new, statuses = '{"resolucion": "0001"}', '{"resolucion": "0002"}', ("cancelled", "cancelled")
        changed_at = now - history + dt.timedelta(seconds=span * i / N_CHANGES)
        batch = (cedula_id - 1) // batch_size + 1
        rows.append((i, _ts(changed_at), kind, statuses[0], statuses[1], old, new, None, cedula_id, batch))
        if i > N_CHANGES - 10_000:
            changed.append((cedula_id,))
    db.executemany(
        "INSERT INTO cedula_cedulachange (id, changed_at, kind, old_status, new_status, old_values, new_values,"
        " attempt_id, cedula_id, import_batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.executemany("UPDATE cedula_cedulainfo SET changed_at_last_check = 1 WHERE id = ?", changed)


def measure_pick(runs: int) -> list[tuple[str, float, float]]:
    """The re-validation job on the big table: the pick alone, and the pick plus the re-queue (rolled back)."""
    import django

    django.setup()
    from django.db import transaction

    from cedula import selectors
    from cedula.services import revalidation

    now = dt.datetime.now(dt.UTC)
    older = now - dt.timedelta(days=90)

    def pick() -> None:
        ids = selectors.revalidation_candidates(older_than=older, limit=PICK)
        if len(ids) != PICK:
            raise SystemExit(f"re-validation pick: {len(ids)} rows, not {PICK}")

    def job() -> None:
        with transaction.atomic():
            report = revalidation.cedulas_revalidate_due(older_than_days=90, limit=PICK, count_eligible=False, now=now)
            if report.queued != PICK:
                raise SystemExit(f"re-validation job: queued {report.queued}, not {PICK}")
            transaction.set_rollback(True)

    results = []
    cases = ((f"re-validation pick of {PICK:,}", pick), (f"re-validation job (pick + re-queue {PICK:,})", job))
    for label, fn in cases:
        times, cpu = [], []
        for run in range(runs + 1):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            if run:
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
        results.append((label, statistics.median(times), statistics.median(cpu)))
    return results


BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-only-123"  # noqa: S105 - a bench-only value


def staff_client(client_class: Any, user_model: Any) -> Any:
    """A test client logged in the way staff log in: password, then a TOTP code (the second factor is on: DEBUG=0)."""
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = user_model.objects.filter(email=BENCH_EMAIL).first()
    if user is None:
        user = user_model.objects.create_superuser(email=BENCH_EMAIL, password=BENCH_PASSWORD)
    # A fresh device each run: a code is accepted once per device and time step, and runs can follow each other fast.
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    client = client_class()
    index = reverse("admin:index")
    login = reverse("admin:login")
    expect_page("login form", client.get(f"{login}?next={index}").status_code, b"", "", expected_status=200)
    response = client.post(f"{login}?next={index}", {"username": BENCH_EMAIL, "password": BENCH_PASSWORD})
    expect_page("login", response.status_code, response.get("Location", ""), index, expected_status=302)
    verify = reverse("two_factor_verify")
    response = client.get(index)
    expect_page("second factor asked", response.status_code, response.get("Location", ""), verify, expected_status=302)
    response = client.post(f"{verify}?next={index}", {"token": totp_code(device.key)})
    expect_page("second factor", response.status_code, response.get("Location", ""), index, expected_status=302)
    return client


def page_marker(url: str) -> str:
    """A string only the page at `url` carries: its own content, never the login or second-factor page."""
    if url == "/metrics":
        return "# TYPE cedula_backlog gauge"
    if url.endswith("/dashboard/"):
        return 'data-testid="dashboard-panel"'
    if url == "/admin/":
        return 'id="cedula-dashboard"'
    if "consultando-ahora" in url:
        return 'data-testid="working-now"'
    if "/search/" in url:
        return "/change/"  # a result's link: the sidebar search found the cedula
    return 'id="changelist-form"'


def measure(runs: int, only: str = "") -> list[tuple[str, float, float]]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # a database generated before a later migration
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import reverse

    from ops.accounts.models import User

    client = staff_client(Client, User)

    now = dt.datetime.now(dt.UTC)
    week_ago = (now - dt.timedelta(days=7)).strftime("%Y-%m-%d")
    changelist = reverse("admin:cedula_cedulainfo_changelist")
    attempts = reverse("admin:cedula_lookupattempt_changelist")
    changes = reverse("admin:cedula_cedulachange_changelist")
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
        ("cedulas: prefix search 100099*", f"{changelist}?q=100099*"),
        ("cedulas: partial number 1000 (no syntax)", f"{changelist}?q=1000"),
        ("cedulas: partial number 1.000.99", f"{changelist}?q=1.000.99"),
        ("sidebar search 1000997", reverse("admin:search") + "?s=1000997"),
        ("consultando ahora", reverse("admin:cedula_working_now")),
        ("importaciones list (progress, ETA, errors)", reverse("admin:cedula_importbatch_changelist")),
        ("django-q: successful tasks", reverse("admin:django_q_success_changelist")),
        ("cedulas: queued (dashboard card)", f"{changelist}?cola=si"),
        ("attempts: search 1.000.997.000", f"{attempts}?q=1.000.997.000"),
        ("attempts: no filter", attempts),
        ("attempts: outcome=error", f"{attempts}?outcome__exact=error"),
        ("attempts: error_kind=timeout", f"{attempts}?error_kind__exact=timeout"),
        ("attempts: started, last 7 days", f"{attempts}?started_at_from_0={week_ago}&started_at_from_1=00:00"),
        ("changes: no filter", changes),
        ("changes: kind=status", f"{changes}?kind__exact=status"),
        ("changes: batch=7", f"{changes}?import_batch__id__exact=7"),
        ("changes: changed, last 7 days", f"{changes}?changed_at_from_0={week_ago}&changed_at_from_1=00:00"),
        ("changes: kind=place, last 7 days",
         f"{changes}?kind__exact=place&changed_at_from_0={week_ago}&changed_at_from_1=00:00"),
        ("cedulas: changed at last check", f"{changelist}?changed_at_last_check=1"),
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
                expect_page(f"{label} ({url})", response.status_code, response.content, page_marker(url))
                if run:  # the first request warms the page cache and the template loader
                    times.append(elapsed)
                    cpu.append(used)
            results.append((label, statistics.median(times), statistics.median(cpu)))
        if not only:
            results += measure_batches(client, runs)
    return results


RETRY_TARGET_MS = 5000.0


def measure_batches(client: object, runs: int) -> list[tuple[str, float, float]]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from cedula.models import CedulaInfo, ImportBatch

    def timed(fn: object) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000

    results = []
    with transaction.atomic():
        batch = ImportBatch.objects.create(file_name="lote-100k.csv", total_rows=BATCH_ROWS, new_rows=BATCH_ROWS)
        rows = CedulaInfo.objects.filter(id__gt=N_CEDULAS - BATCH_ROWS)
        if rows.update(import_batch=batch) != BATCH_ROWS:
            raise SystemExit(f"the batch does not hold {BATCH_ROWS:,} rows")
        page = reverse("admin:cedula_importbatch_change", args=[batch.pk])
        times, cpu = [], []
        for run in range(runs + 1):
            wall, used = timed(lambda: _ok(client.get(page), "batch page", "lote-100k.csv"))  # type: ignore[attr-defined]
            if run:
                times.append(wall)
                cpu.append(used)
        results.append((f"batch page, {BATCH_ROWS:,} rows, with ETA", statistics.median(times), statistics.median(cpu)))

        changelist = reverse("admin:cedula_cedulainfo_changelist")
        query = f"import_batch__id__exact={batch.pk}&status__exact=error"
        confirm = reverse("admin:cedula_cedulainfo_filter_action", args=["retry_failed"]) + "?" + query
        times, cpu, confirm_times = [], [], []
        for run in range(runs + 1):
            with transaction.atomic():
                rows.update(status="error", error_kind="timeout", next_attempt_at=None, claimed_at=None)
                wall_c, _ = timed(
                    lambda: _ok(client.get(confirm), "retry confirmation", 'name="confirmar"')  # type: ignore[attr-defined]
                )
                with CaptureQueriesContext(connection) as queries:
                    t0, c0 = time.perf_counter(), time.process_time()
                    response = client.post(confirm, {"confirmar": "1"})  # type: ignore[attr-defined]
                    wall, used = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
                if response.status_code != 302 or not response["Location"].startswith(changelist):
                    raise SystemExit(f"retry on the filter: HTTP {response.status_code}")
                retried = CedulaInfo.objects.filter(import_batch=batch, next_attempt_at__isnull=False).count()
                if retried != BATCH_ROWS:
                    raise SystemExit(f"retry on the filter queued {retried} rows, not {BATCH_ROWS:,}")
                reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT") and "cedula_cedulainfo" in q["sql"]]
                if not all("COUNT(" in sql or "LIMIT" in sql for sql in reads):
                    raise SystemExit(f"retry on the filter read rows into Python: {reads}")
                transaction.set_rollback(True)
            if run:
                times.append(wall)
                cpu.append(used)
                confirm_times.append(wall_c)
        results.append((f"retry confirmation (count), {BATCH_ROWS:,} rows", statistics.median(confirm_times), 0.0))
        retry = f"retry failed on filter, {BATCH_ROWS:,} rows"
        results.append((retry, statistics.median(times), statistics.median(cpu)))
        transaction.set_rollback(True)
    return results


def _ok(response: object, label: str, marker: str) -> None:
    expect_page(label, response.status_code, response.content, marker)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=sized(7, 1))
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--only", default="", help="measure only the lines whose label starts with this")
    args = parser.parse_args()
    if args.regenerate or SMOKE or not READY.exists():
        generate(dt.datetime.now(dt.UTC).replace(microsecond=0))
    if args.generate_only:
        return
    results = measure(args.runs, only=args.only)
    picks = [] if args.only else measure_pick(args.runs)
    load = os.getloadavg()[0]
    print(
        f"console bench: {N_CEDULAS:,} cedulas, {N_ATTEMPTS:,} attempts, {N_CHANGES:,} changes, SQLite,"
        f" median of {args.runs} runs"
    )
    print(f"  (load average {load:.1f} on {os.cpu_count()} cores; cpu = this process's CPU time, unaffected by others)")
    print(f"  {'page':<40} {'wall':>9} {'cpu':>9}")
    for label, ms, cpu in results:
        target = METRICS_TARGET_MS if label.startswith("/metrics") else TARGET_MS
        verdict = "ok" if ms <= (RETRY_TARGET_MS if label.startswith("retry failed") else target) else "SLOW"
        print(f"  {label:<40} {ms:6.1f} ms {cpu:6.1f} ms   {verdict}")
    for metrics, target in ((False, TARGET_MS), (True, METRICS_TARGET_MS)):
        lines = [
            ms
            for label, ms, _ in results
            if label.startswith("/metrics") == metrics and not label.startswith("retry failed")
        ]
        if lines:
            print(f"  worst wall {max(lines):.1f} ms = {max(lines) / target:.2f} x the {target:.0f} ms target")
    for label, ms, cpu in picks:
        verdict = "ok" if ms <= PICK_TARGET_MS else "SLOW"
        print(f"  {label:<40} {ms:6.1f} ms {cpu:6.1f} ms   {verdict} (target {PICK_TARGET_MS:.0f} ms)")


if __name__ == "__main__":
    main()
