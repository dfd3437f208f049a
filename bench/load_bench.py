"""Load: 20 staff sessions browse the console while the worker looks cedulas up and a 50,000-row import lands.

    .venv/bin/python bench/load_bench.py                                   # SQLite file + ORM broker
    .venv/bin/python bench/load_bench.py --postgres postgres://postgres@127.0.0.1:5432/cedula_bench_load \\
        --redis redis://127.0.0.1:6379/14                                  # PostgreSQL + Redis broker

Everything is real and on 127.0.0.1: a fresh database (var/bench/load/load.sqlite3, or the PostgreSQL database named
in --postgres, dropped and created again: its name must contain "bench"; --redis flushes that Redis database),
gunicorn (gthread workers, DEBUG=0), one `manage.py qcluster` worker with Chromium doing lookups against the stand-in
registry (REGISTRY_MIN_GAP_S=0.2), and stdlib HTTP clients that log in as staff do: the password on /admin/login/
with CSRF, then the code of their confirmed TOTP device on /admin/2fa/ (the second factor is on, as in production;
each staff member gets a device when the database is seeded). Sessions
browse the dashboard, its refresh fragment, the cedula changelist (filters, search, pages) and the attempts list,
clicking every 2-6 s (--think); a 21st session uploads a 50,000-row CSV on the import screen and confirms it meanwhile.

Prints p50/p95 latency per page kind, the request count, 5xx responses and "database is locked" (in responses and
in the server and worker logs). Exit 1 if any 5xx, transport error or "database is locked" appears, or the import
did not land whole. Bounded: --duration seconds of browsing (default 90), longer only while the import is still
running (5.5 minutes at most); every process it started is stopped on the way out.

Every timed page must be the page it names (HTTP 200 and a marker only that page carries): a redirect to the login
or second-factor page, an error page or a form without its CSRF token fails the run instead of being timed.
`BENCH_SMOKE=1` runs it at a tiny size (2 sessions, 8 s, 500 cedulas, a 500-row import, var/bench/load-smoke).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.bench import WrongPage, expect_page, sized, totp_code  # noqa: E402

VENV_BIN = Path(sys.executable).parent
DEFAULT_DIR = ROOT / "var" / "bench" / sized("load", "load-smoke")
PASSWORD = "bench-load-password-1"  # noqa: S105 (a throwaway database)
IMPORT_DEADLINE_S = 330.0
AFTER_IMPORT_S = sized(10.0, 2.0)  # browsing goes on at least this long after the import landed
REQUEST_TIMEOUT_S = 300.0  # the import confirm on a loaded 2-core machine
LOCKED = "database is locked"

DEPARTAMENTOS = ["ANTIOQUIA", "BOGOTA D.C.", "CALDAS", "VALLE", "SANTANDER", "NARIÑO", "META", "HUILA"]
ERROR_KINDS = ["blocked", "timeout", "network", "unexpected_page", "server_error"]

# page kind -> what only that page carries (never the login or second-factor page)
MARKERS = {
    "dashboard": 'id="cedula-dashboard"',
    "fragment": 'data-testid="dashboard-panel"',
    "changelist": 'id="changelist-form"',
    "attempts": 'id="changelist-form"',
}

# page kind -> (weight, paths to pick from)
PAGES: dict[str, tuple[int, list[str]]] = {
    "dashboard": (15, ["/admin/"]),
    "fragment": (25, ["/admin/cedula/cedulainfo/dashboard/"]),
    "changelist": (
        40,
        [
            "/admin/cedula/cedulainfo/",
            "/admin/cedula/cedulainfo/?status__exact=active",
            "/admin/cedula/cedulainfo/?status__exact=pending",
            "/admin/cedula/cedulainfo/?status__exact=error&error_kind__exact=timeout",
            "/admin/cedula/cedulainfo/?source__exact=import",
            "/admin/cedula/cedulainfo/?departamento=CALDAS",
            "/admin/cedula/cedulainfo/?q=10001234",
            "/admin/cedula/cedulainfo/?q=1.000.777",
            "/admin/cedula/cedulainfo/?p=5",
            "/admin/cedula/cedulainfo/?o=2",
        ],
    ),
    "attempts": (
        20,
        [
            "/admin/cedula/lookupattempt/",
            "/admin/cedula/lookupattempt/?outcome__exact=error",
            "/admin/cedula/lookupattempt/?error_kind__exact=blocked",
            "/admin/cedula/lookupattempt/?p=3",
        ],
    ),
}


# --- processes and data ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(args: argparse.Namespace, work: Path, registry_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ops.settings",
            "OPS_IGNORE_DOTENV": "1",
            "DEBUG": "0",
            "STAFF_2FA_REQUIRED": "1",  # as in production: staff pass the second factor
            "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "DATABASE_URL": args.postgres or f"sqlite:///{work / 'load.sqlite3'}",
            "Q_REDIS_URL": args.redis or "",
            "VAR_DIR": str(work),
            "LOG_DIR": str(work / "logs"),
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STATIC_MANIFEST": "0",  # the pages' static files are not fetched; no collectstatic needed
            "SENTRY_DSN": "",
            "REGISTRY_URL": registry_url,
            "REGISTRY_MIN_GAP_S": str(args.min_gap),
            "LOOKUP_RETRY_DELAYS_S": "5,10,20",
            "Q_WORKERS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def fresh_database(args: argparse.Namespace, work: Path) -> None:
    if not args.postgres:
        for suffix in ("", "-wal", "-shm"):
            (work / f"load.sqlite3{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    url = urllib.parse.urlsplit(args.postgres)
    name = url.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop {name!r}: the --postgres database name must contain 'bench'")
    maintenance = urllib.parse.urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    if args.redis:
        import redis

        redis.Redis.from_url(args.redis).flushdb()


def seed(*, cedulas: int, attempts: int, users: int, pending: int) -> dict[str, str]:
    """In this process (Django set up on the bench database): staff users with a confirmed TOTP device, results,
    attempts, some due work. Returns each staff email's TOTP key (hex), the secret their phone would hold."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cedula import services
    from cedula.models import CedulaInfo, LookupAttempt, Priority, Source, Status

    rng = random.Random(20240601)
    now = timezone.now()
    password = make_password(PASSWORD)  # hashed once: the production hasher costs ~0.5 s a call
    staff = get_user_model().objects.bulk_create(
        get_user_model()(email=f"staff{n}@bench.invalid", password=password, is_staff=True, is_superuser=True)
        for n in range(users)
    )
    staff = list(get_user_model().objects.filter(email__endswith="@bench.invalid"))  # with their ids on every backend
    devices = TOTPDevice.objects.bulk_create(TOTPDevice(user=u, name="bench", confirmed=True) for u in staff)
    keys = {user.email: device.key for user, device in zip(staff, devices, strict=True)}
    rows = []
    for n in range(cedulas):
        checked = now - dt.timedelta(minutes=rng.randrange(60 * 24 * 30))
        status = rng.choices([Status.ACTIVE, Status.NOT_FOUND, Status.CANCELLED, Status.ERROR], weights=[80, 8, 4, 8])[
            0
        ]
        row = CedulaInfo(
            cedula=str(10_000_000 + n * 37),
            status=status,
            source=rng.choice([Source.IMPORT, Source.ADMIN, Source.REGISTRATION]),
            priority=Priority.BULK,
            last_checked=checked,
            check_count=1,
        )
        if status == Status.ACTIVE:
            row.departamento = rng.choice(DEPARTAMENTOS)
            row.municipio, row.puesto, row.direccion, row.mesa = "MUNICIPIO", "PUESTO 1", "CRA 1 # 2-3", "013"
        elif status == Status.ERROR:
            row.error_kind = rng.choice(ERROR_KINDS)
            row.last_error = "bench"
        elif status == Status.CANCELLED:
            row.novedad, row.resolucion = "Cancelada por Muerte", "0023"
        if n < pending:  # due now: the worker has work from the start
            row.status, row.next_attempt_at, row.last_checked, row.check_count = Status.PENDING, now, None, 0
        rows.append(row)
    CedulaInfo.objects.bulk_create(rows, batch_size=2000)
    ids = list(CedulaInfo.objects.values_list("id", flat=True))
    outcomes = ["active", "active", "active", "not_found", "error"]
    LookupAttempt.objects.bulk_create(
        (
            LookupAttempt(
                cedula_id=rng.choice(ids),
                started_at=now - dt.timedelta(seconds=rng.randrange(86400 * 30)),
                duration_ms=rng.randrange(800, 6000),
                outcome=(outcome := rng.choice(outcomes)),
                error_kind=rng.choice(ERROR_KINDS) if outcome == "error" else "",
            )
            for _ in range(attempts)
        ),
        batch_size=2000,
    )
    # Fresh tables have no planner statistics; a live database has them (autovacuum, PRAGMA optimize).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    services.lookups_dispatch()
    return keys


def import_csv(path: Path, rows: int) -> None:
    rng = random.Random(50_000)
    numbers = rng.sample(range(20_000_000, 99_999_999), rows)
    path.write_text("cedula;nombre\r\n" + "".join(f"{n};Persona {i}\r\n" for i, n in enumerate(numbers)))


def wait_http(port: int, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the web server did not answer on 127.0.0.1:{port} within {timeout:.0f} s")


# --- HTTP clients ---------------------------------------------------------------------------------------------------

_INPUT = re.compile(r"<input\b[^>]*>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def hidden_inputs(page: str) -> dict[str, str]:
    found = {}
    for tag in _INPUT.findall(page):
        attrs = dict(_ATTR.findall(tag))
        if attrs.get("type") == "hidden" and "name" in attrs:
            found[attrs["name"]] = html_unescape(attrs.get("value", ""))
    return found


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    wrong_pages: list[str] = field(default_factory=list)
    locked_in_responses: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, path: str, status: int, seconds: float, body: bytes) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if status >= 500:
                self.server_errors.append(f"{status} {path}")
            if LOCKED.encode() in body:
                self.locked_in_responses += 1

    def failed(self, kind: str, path: str, exc: BaseException) -> None:
        with self.lock:
            self.transport_errors.append(f"{kind} {path}: {type(exc).__name__}: {exc}")

    def wrong(self, kind: str, path: str, exc: BaseException) -> None:
        with self.lock:
            self.wrong_pages.append(f"{kind} {path}: {exc}")


class Browser:
    """One staff member's browser: a keep-alive connection, cookies, the CSRF token."""

    def __init__(self, port: int, stats: Stats) -> None:
        self.port = port
        self.stats = stats
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self, kind: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        headers = {**(headers or {}), "Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                # A keep-alive connection the server closed between two requests: open a new one, once.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    self.stats.failed(kind, path, exc)
                    raise
                continue
            except OSError as exc:
                self.conn.close()
                self.conn = None
                self.stats.failed(kind, path, exc)
                raise
            elapsed = time.perf_counter() - started
            for cookie in response.msg.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
            if response.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            self.stats.add(kind, path, response.status, elapsed, data)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        raise AssertionError("unreachable")

    def login(self, email: str, totp_key: str) -> None:
        """Password, then the second factor, as staff log in (every step is timed as "login")."""
        form_type = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, page = self.request("login", "GET", "/admin/login/?next=/admin/")
        expect_page("login form", status, page, 'name="csrfmiddlewaretoken"')
        token = hidden_inputs(page.decode())["csrfmiddlewaretoken"]
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": email, "password": PASSWORD, "next": "/admin/"}
        ).encode()
        status, headers, _ = self.request("login", "POST", "/admin/login/?next=/admin/", form, form_type)
        expect_page(f"password of {email}", status, headers.get("location", ""), "/admin/", expected_status=302)
        status, headers, _ = self.request("login", "GET", "/admin/")
        verify = headers.get("location", "")
        expect_page(f"second factor of {email} asked", status, verify, "/admin/2fa/", expected_status=302)
        status, _, page = self.request("login", "GET", verify)
        expect_page("second factor form", status, page, 'name="token"')
        token = hidden_inputs(page.decode())["csrfmiddlewaretoken"]
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "token": totp_code(totp_key), "next": "/admin/"}
        ).encode()
        status, headers, _ = self.request("login", "POST", verify, form, form_type)
        expect_page(f"second factor of {email}", status, headers.get("location", ""), "/admin/", expected_status=302)

    def post_form(self, kind: str, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]]):
        boundary = f"----bench{random.getrandbits(64):016x}"
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (file_name, data) in files.items():
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{file_name}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            )
            parts.append(head.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request(kind, "POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def browse(
    browser: Browser, email: str, key: str, stop: threading.Event, think: tuple[float, float], seed: int
) -> None:
    rng = random.Random(seed)
    stop.wait(rng.uniform(0, 3))  # staff do not all log in at the same instant
    try:
        browser.login(email, key)
    except WrongPage as exc:
        browser.stats.wrong("login", email, exc)
        return
    except (OSError, RuntimeError, KeyError) as exc:
        browser.stats.failed("login", email, exc)
        return
    kinds = list(PAGES)
    weights = [PAGES[k][0] for k in kinds]
    while not stop.is_set():
        kind = rng.choices(kinds, weights)[0]
        path = rng.choice(PAGES[kind][1])
        try:
            status, _, body = browser.request(kind, "GET", path)
            expect_page(kind, status, body, MARKERS[kind])
        except OSError:
            pass  # counted as a transport error
        except WrongPage as exc:
            browser.stats.wrong(kind, path, exc)
        stop.wait(rng.uniform(*think))


@dataclass
class ImportOutcome:
    ok: bool = False
    detail: str = ""
    batch_id: int | None = None
    preview_s: float = 0.0
    confirm_s: float = 0.0
    landed_at: float = 0.0


def run_import(browser: Browser, email: str, key: str, csv_path: Path, outcome: ImportOutcome) -> None:
    try:
        browser.login(email, key)
        status, _, page = browser.request("import_form", "GET", "/admin/cedula/cedulainfo/import/")
        expect_page("import form", status, page, 'name="import_file"')
        token = hidden_inputs(page.decode())["csrfmiddlewaretoken"]
        started = time.perf_counter()
        status, _, page = browser.post_form(
            "import_preview",
            "/admin/cedula/cedulainfo/import/",
            {"csrfmiddlewaretoken": token},
            {"import_file": (csv_path.name, csv_path.read_bytes())},
        )
        outcome.preview_s = time.perf_counter() - started
        text = page.decode()
        if status != 200 or 'id="import-confirm"' not in text:
            outcome.detail = f"preview: HTTP {status}, no confirm form"
            return
        confirm = text[text.index('id="import-confirm"') :]
        fields = hidden_inputs(confirm[: confirm.index("</form>")])
        started = time.perf_counter()
        status, headers, _ = browser.post_form("import_confirm", "/admin/cedula/cedulainfo/process_import/", fields, {})
        outcome.confirm_s = time.perf_counter() - started
        match = re.search(r"import_batch__id__exact=(\d+)", headers.get("location", ""))
        if status != 302 or not match:
            outcome.detail = f"confirm: HTTP {status}, Location {headers.get('location')!r}"
            return
        outcome.ok, outcome.batch_id, outcome.landed_at = True, int(match.group(1)), time.monotonic()
    except (OSError, RuntimeError, KeyError, ValueError, WrongPage) as exc:
        outcome.detail = f"{type(exc).__name__}: {exc}"


# --- the run --------------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def count_in_logs(paths: list[Path], needle: str) -> dict[str, int]:
    counts = {}
    for path in paths:
        if path.is_file():
            counts[path.name] = path.read_text(errors="replace").count(needle)
    return counts


def cpu_seconds_of_children(parent: int) -> float:
    """User + system CPU of `parent`'s live children (the gunicorn workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # fields[1] is the ppid; utime and stime are fields 11 and 12
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def stop_process(proc: subprocess.Popen, *, group: bool, timeout: float = 20.0) -> None:
    if proc.poll() is None:
        (os.killpg if group else os.kill)(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    if group:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # Chromium and the cluster's children, if any are left
        except ProcessLookupError:
            pass
    elif proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="", help="PostgreSQL URL (its database is dropped and re-created)")
    parser.add_argument("--redis", default="", help="Redis URL for the Django-Q2 broker and cache (flushed)")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--sessions", type=int, default=sized(20, 2))
    parser.add_argument("--duration", type=float, default=sized(90.0, 8.0), help="seconds of browsing")
    parser.add_argument("--import-rows", type=int, default=sized(50_000, 500))
    parser.add_argument("--cedulas", type=int, default=sized(20_000, 500))
    parser.add_argument("--attempts", type=int, default=sized(5_000, 200))
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--min-gap", type=float, default=0.2, help="REGISTRY_MIN_GAP_S of the worker")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=sized((2.0, 6.0), (0.5, 1.5)),
        metavar=("MIN", "MAX"),
        help="seconds between clicks",
    )
    args = parser.parse_args()
    if args.redis and not args.postgres:
        parser.error("--redis goes with --postgres (the scale-out profile)")

    work = args.dir.resolve()
    (work / "logs").mkdir(parents=True, exist_ok=True)
    for old in (work / "logs").glob("*"):
        old.unlink()
    fresh_database(args, work)

    # The stand-in registry runs in this process; its URL goes into every child's environment.
    env = base_env(args, work, "http://127.0.0.1:0/")
    os.environ.update({k: v for k, v in env.items() if k not in ("REGISTRY_URL",)})
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from cedula.registry.simulator import start_simulator

    site = start_simulator(min_gap_s=0.0)
    env = base_env(args, work, site.url)
    os.environ["REGISTRY_URL"] = site.url

    began = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("setup_schedules", stdout=open(os.devnull, "w"))  # noqa: SIM115
    keys = seed(cedulas=args.cedulas, attempts=args.attempts, users=args.sessions + 1, pending=min(300, args.cedulas))
    from cedula.models import CedulaInfo, ImportBatch, LookupAttempt

    attempts_before = LookupAttempt.objects.count()
    connections.close_all()
    csv_path = work / f"import-{args.import_rows}.csv"
    import_csv(csv_path, args.import_rows)
    setup_s = time.monotonic() - began

    port = free_port()
    server_log = open(work / "logs" / "gunicorn.log", "wb")  # noqa: SIM115
    worker_log = open(work / "logs" / "qcluster.log", "wb")  # noqa: SIM115
    server_cmd = [
        str(VENV_BIN / "gunicorn"),
        "ops.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.web_workers),
        "--threads",
        str(args.web_threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "120",
        "--keep-alive",
        "30",
        "--access-logfile",
        str(work / "logs" / "access.log"),
        "--access-logformat",
        '%(s)s %(m)s "%(U)s" %(M)sms',
    ]
    server = subprocess.Popen(server_cmd, cwd=ROOT, env=env, stdout=server_log, stderr=server_log)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=worker_log,
        stderr=worker_log,
        start_new_session=True,
    )
    stats = Stats()
    outcome = ImportOutcome()
    load_start = os.getloadavg()[0]
    stop = threading.Event()
    try:
        wait_http(port, "/admin/login/", 60)
        threads = [
            threading.Thread(
                target=browse,
                args=(
                    Browser(port, stats),
                    f"staff{n}@bench.invalid",
                    keys[f"staff{n}@bench.invalid"],
                    stop,
                    tuple(args.think),
                    n,
                ),  # fmt: skip
                daemon=True,
            )
            for n in range(args.sessions)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(min(10.0, args.duration / 4))  # the sessions are logged in and browsing when the file lands
        importer_email = f"staff{args.sessions}@bench.invalid"
        importer = threading.Thread(
            target=run_import,
            args=(Browser(port, stats), importer_email, keys[importer_email], csv_path, outcome),
            daemon=True,
        )
        importer.start()
        importer.join(IMPORT_DEADLINE_S)
        remaining = args.duration - (time.monotonic() - started)
        # Keep browsing for the planned duration, and at least 10 s after the import landed (the worker is then
        # claiming from a 70,000-row table while staff page through it).
        stop.wait(max(remaining, AFTER_IMPORT_S))
        stop.set()
        for thread in threads:
            thread.join(REQUEST_TIMEOUT_S)
        browsed_s = time.monotonic() - started
        web_cpu_s = cpu_seconds_of_children(server.pid)
        load_end = os.getloadavg()[0]
    finally:
        stop.set()
        stop_process(server, group=False)
        stop_process(worker, group=True)
        site.stop()
        server_log.close()
        worker_log.close()

    landed = 0
    if outcome.batch_id is not None:
        batch = ImportBatch.objects.filter(pk=outcome.batch_id).first()
        landed = CedulaInfo.objects.filter(import_batch_id=outcome.batch_id).count() if batch else 0
    lookups = LookupAttempt.objects.count() - attempts_before
    connections.close_all()

    logs = sorted((work / "logs").glob("*"))
    locked_logs = count_in_logs(logs, LOCKED)
    tracebacks = count_in_logs(logs, "Traceback")
    profile = (
        f"PostgreSQL ({urllib.parse.urlsplit(args.postgres).path.lstrip('/')}) + Redis broker"
        if args.postgres
        else f"SQLite ({work.relative_to(ROOT) if work.is_relative_to(ROOT) else work}/load.sqlite3) + ORM broker"
    )
    total = sum(len(v) for v in stats.latencies.values())
    fives = len(stats.server_errors)
    locked = stats.locked_in_responses + sum(locked_logs.values())
    print(f"load bench: {profile}")
    print(
        f"  gunicorn {args.web_workers} workers x {args.web_threads} threads (gthread), 1 qcluster worker + Chromium "
        f"(gap {args.min_gap} s), {args.sessions} staff sessions (think {args.think[0]}-{args.think[1]} s)"
    )
    print(
        f"  seeded {args.cedulas:,} cedulas + {args.attempts:,} attempts in {setup_s:.1f} s; "
        f"browsed {browsed_s:.0f} s while a {args.import_rows:,}-row CSV was imported through the console"
    )
    print(f"  {'page':<16}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for kind in ["dashboard", "fragment", "changelist", "attempts", "login", "import_form", "import_preview",
                 "import_confirm"]:  # fmt: skip
        values = stats.latencies.get(kind)
        if not values:
            continue
        p50, p95 = percentile(values, 50) * 1000, percentile(values, 95) * 1000
        print(f"  {kind:<16}{len(values):>9}{p50:>9.0f}{p95:>9.0f}{max(values) * 1000:>9.0f}")
    print(f"  total requests: {total}   statuses: {dict(sorted(stats.statuses.items()))}")
    print(
        f"  import: {'landed' if outcome.ok else 'FAILED ' + outcome.detail}; batch {outcome.batch_id}, "
        f"{landed:,} new rows; preview {outcome.preview_s:.1f} s, confirm {outcome.confirm_s:.1f} s"
    )
    print(f"  worker: {lookups} lookups recorded during the run")
    print(
        f"  machine: {os.cpu_count()} cores, load average {load_start:.1f} at start, {load_end:.1f} at end; "
        f"web server CPU {web_cpu_s:.0f} s = {web_cpu_s / max(total, 1) * 1000:.0f} ms a request"
    )
    print(
        f"  5xx: {fives}   transport errors: {len(stats.transport_errors)}   "
        f'"{LOCKED}": {locked} (responses {stats.locked_in_responses}, logs {sum(locked_logs.values())})   '
        f"tracebacks in logs: {sum(tracebacks.values())}   not the page timed: {len(stats.wrong_pages)}"
    )
    for line in (stats.server_errors + stats.transport_errors + stats.wrong_pages)[:10]:
        print(f"    {line}")
    problems = []
    if fives:
        problems.append(f"{fives} responses 5xx")
    if stats.transport_errors:
        problems.append(f"{len(stats.transport_errors)} transport errors")
    if stats.wrong_pages:
        problems.append(f"{len(stats.wrong_pages)} responses that were not the page timed")
    if locked:
        problems.append(f'{locked} "{LOCKED}"')
    if not outcome.ok or landed != args.import_rows:
        problems.append(f"the import did not land whole ({landed:,} of {args.import_rows:,} rows)")
    if problems:
        print("RESULT: FAIL - " + "; ".join(problems) + f" (logs in {work / 'logs'})")
        return 1
    print('RESULT: PASS - zero 5xx, zero "database is locked", every page the one timed, the import landed whole')
    return 0


if __name__ == "__main__":
    sys.exit(main())
