"""Peak memory of the process that serves an import upload, for files that expand or that are far too big.

    .venv/bin/python bench/upload_memory_bench.py [--only NAME]      BENCH_SMOKE=1 for a tiny run

Each case starts a fresh gunicorn (one sync worker, the production server) on a fresh, migrated SQLite file, logs in
through a session made beforehand, loads the import page once (templates, imports), resets the worker's peak RSS
(/proc/PID/clear_refs) and then streams the upload over a socket as a browser would: the bench never holds a file in
memory, so the figure is the server's. It prints the worker's peak RSS growth (VmHWM after minus VmRSS before) and its
ratio to the 300 MB target, and checks that each response is the page it meant to measure (the Spanish refusal, or
the preview with its confirm form).

Cases (issue 25): an XLSX of a few MB whose shared strings expand to 1.5 GB; an XLSX of 20 million blank rows; a
1 GB CSV (over the body cap: never read); a CSV just under the 64 MB file cap (a million cedulas with padding
columns: the largest file the import accepts, read, classified and kept for the confirm step).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.xlsx import xlsx_with_shared_strings  # noqa: E402

TARGET_MB = 300.0
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
IMPORT_PATH = "/admin/cedula/cedulainfo/import/"
BOUNDARY = "----cedula-bench-boundary"
MB = 2**20


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ops.settings",
            "OPS_IGNORE_DOTENV": "1",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only",
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "VAR_DIR": str(workdir / "var"),
            "LOG_LEVEL": "WARNING",
            "LOG_DIR": str(workdir / "logs"),
            "Q_REDIS_URL": "",
            "SENTRY_DSN": "",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "STAFF_2FA_REQUIRED": "0",  # the bench measures the upload, not the second factor
            "STATIC_MANIFEST": "0",
        }
    )
    return env


# --- the files, written to disk in pieces (never whole in the bench's memory) ------------------------------------


def shared_strings_bomb(path: Path) -> None:
    """Excel's shape: the cells point into xl/sharedStrings.xml, which expands to 1.5 GB (40 MB in a smoke run)."""
    total = (40 if SMOKE else 1500) * MB
    block = b"<si><t>x</t></si>" * 65536
    rows = [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>1</v></c></row>']
    strings = itertools.chain(
        [b"<si><t>cedula</t></si><si><t>1234567</t></si>"], itertools.repeat(block, total // len(block))
    )
    with path.open("wb") as out:
        xlsx_with_shared_strings(rows, strings, out=out)


def blank_rows(path: Path) -> None:
    """The finding's shape: a header, then 20 million empty <row/> elements (120 MB of XML, under the sheet cap, so
    the rows are read and counted: the row limit refuses the file at the millionth)."""
    count = 2_000_000 if SMOKE else 20_000_000
    rows = itertools.chain(
        [b'<row r="1"><c r="A1" t="s"><v>0</v></c></row>'], itertools.repeat(b"<row/>" * 100_000, count // 100_000)
    )
    with path.open("wb") as out:
        xlsx_with_shared_strings(rows, [b"<si><t>cedula</t></si>"], out=out)


def near_cap_csv(path: Path) -> None:
    rows = 50_000 if SMOKE else 1_000_000
    with path.open("wb") as out:
        out.write(b"cedula,nombre,direccion,observaciones\r\n")
        for n in range(rows):
            # 66 bytes a row: a million rows is 63 MB, just under the 64 MB cap.
            out.write(b"%d,Persona %07d,Calle %05d # 12-34,sin novedad anotada\r\n" % (1_000_000 + n * 7, n, n))


def near_cap_invalid_csv(path: Path) -> None:
    """A million values of 62 digits: every row invalid, each with its reason (the costliest file the cap lets in)."""
    rows = 50_000 if SMOKE else 1_000_000
    with path.open("wb") as out:
        out.write(b"cedula\r\n")
        for n in range(rows):
            out.write(b"%062d\r\n" % (10**40 + n * 13))


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    build: Callable[[Path], None] | None  # None: generated on the fly while sending
    size: int = 0  # bytes sent when generated on the fly
    expect: str = ""  # a text of the page that must come back


CASES = [
    Case(
        "xlsx-shared-strings",
        "XLSX, shared strings expanding to 1.5 GB",
        shared_strings_bomb,
        expect="demasiado grande una vez descomprimido",
    ),
    Case("xlsx-blank-rows", "XLSX, 20 million blank rows", blank_rows, expect="más de 1.000.000 filas"),
    Case(
        "csv-1gb",
        "CSV of 1 GB (over the body cap)",
        None,
        size=(80 if SMOKE else 1024) * MB,
        expect="El archivo es demasiado grande: el máximo es",
    ),
    Case("csv-near-cap", "CSV just under the 64 MB cap", near_cap_csv, expect='name="import_file_name"'),
    Case(
        "csv-near-cap-invalid",
        "CSV just under the cap, every row invalid",
        near_cap_invalid_csv,
        expect="es demasiado larga: una cédula tiene entre 3 y 10 dígitos",
    ),
]


# --- the server ----------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024  # kB -> MB
    return fields


def _worker_pid(master: int) -> int:
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise SystemExit("gunicorn started no worker")


def _session(env: dict[str, str]) -> str:
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\nfrom ops.accounts.models import User\n"
        "user = User.objects.filter(email='bench@example.com').first() or "
        "User.objects.create_superuser(email='bench@example.com', password='bench-only-123')\n"
        "c = Client(); c.force_login(user); print(c.cookies['sessionid'].value)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _get(port: int, cookies: str) -> tuple[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", IMPORT_PATH, headers={"Cookie": cookies})
    response = conn.getresponse()
    page = response.read().decode()
    token = "; ".join(part.split(";")[0] for header, part in response.getheaders() if header.lower() == "set-cookie")
    conn.close()
    return page, token


def _body(name: str, csrf: str, content: Iterator[bytes]) -> Iterator[bytes]:
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{csrf}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="import_file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    yield from content
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _file_pieces(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while piece := fh.read(MB):
            yield piece


def _generated_csv(size: int) -> Iterator[bytes]:
    block = b"cedula\r\n" + b"1234567\r\n" * (MB // 9)
    sent = 0
    while sent < size:
        piece = block[: size - sent]
        sent += len(piece)
        yield piece


def _post(port: int, cookies: str, pieces: list[bytes] | Iterator[bytes], length: int) -> tuple[int, str, str]:
    """Stream the body; stop sending as soon as the server answers (it may refuse without reading)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=300)
    head = (
        f"POST {IMPORT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n"
        f"Referer: http://127.0.0.1:{port}{IMPORT_PATH}\r\nConnection: close\r\n\r\n"
    )
    sock.sendall(head.encode())
    try:
        for piece in pieces:
            if select.select([sock], [], [], 0)[0]:
                break  # the answer came before the body was read
            sock.sendall(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass
    response = http.client.HTTPResponse(sock)
    response.begin()
    page = response.read().decode(errors="replace")
    location = response.getheader("Location") or ""
    # The refusal's message travels in the messages cookie to the page it redirects to.
    set_cookies = "; ".join(v.split(";")[0] for k, v in response.getheaders() if k.lower() == "set-cookie")
    sock.close()
    return response.status, page, location + ("\n" + set_cookies if set_cookies else "")


def run_case(case: Case, workdir: Path, env: dict[str, str]) -> dict[str, float]:
    path = workdir / f"{case.name}.{'xlsx' if case.name.startswith('xlsx') else 'csv'}"
    if case.build is not None:
        started = time.perf_counter()
        case.build(path)
        print(f"  built {path.name}: {path.stat().st_size / MB:.2f} MB in {time.perf_counter() - started:.1f} s")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ops.wsgi:application", "-w", "1", "-b", f"127.0.0.1:{port}", "-t", "600"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        worker = _worker_pid(server.pid)
        session = f"sessionid={_session(env)}"
        for _ in range(100):
            try:
                page, set_cookies = _get(port, session)
                break
            except ConnectionRefusedError:
                time.sleep(0.2)
        csrf_cookie = re.search(r"csrftoken=([^;]+)", set_cookies)
        csrf_field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not (csrf_cookie and csrf_field):
            raise SystemExit(f"{case.name}: the import page did not load (logged in?)")
        cookies = f"{session}; csrftoken={csrf_cookie.group(1)}"
        before = _status(worker)["VmRSS"]
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        content = _file_pieces(path) if case.build is not None else _generated_csv(case.size)
        file_size = path.stat().st_size if case.build is not None else case.size
        pieces = _body(path.name, csrf_field.group(1), content)
        overhead = len(next(_body(path.name, csrf_field.group(1), iter(())))) + len(f"\r\n--{BOUNDARY}--\r\n")
        started = time.perf_counter()
        status, page, location = _post(port, cookies, pieces, file_size + overhead)
        seconds = time.perf_counter() - started
        peak = _status(worker)["VmHWM"]
        if status == 303 and location:
            _, _, new_cookies = location.partition("\n")
            page, _ = _get(port, f"{cookies}; {new_cookies}" if new_cookies else cookies)
        if case.expect not in page:
            sys.stderr.write(page[-3000:])
            raise SystemExit(f"{case.name}: HTTP {status}, the page is not the one expected ({case.expect!r})")
        return {"growth": peak - before, "before": before, "seconds": seconds, "status": status, "size": file_size}
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        path.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=[c.name for c in CASES])
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="upload-bench-") as tmp:
        workdir = Path(tmp)
        env = _env(workdir)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)
        print(f"{'SMOKE: ' if SMOKE else ''}peak RSS growth of the gunicorn worker serving the upload")
        for case in CASES:
            if args.only and case.name != args.only:
                continue
            print(f"{case.label}:")
            r = run_case(case, workdir, env)
            within = r["growth"] < TARGET_MB
            ok = ok and within
            print(
                f"  {case.name:>20}: {r['size'] / MB:8.1f} MB sent, HTTP {r['status']}, {r['seconds']:6.2f} s, "
                f"peak growth {r['growth']:5.0f} MB (RSS before {r['before']:.0f} MB), "
                f"ratio to {TARGET_MB:.0f} MB: {r['growth'] / TARGET_MB:.2f} {'ok' if within else 'OVER'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
