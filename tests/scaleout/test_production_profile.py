"""The production profile end to end: DEBUG=0, gunicorn, whitenoise serving the collected (hashed) static files.

On the default test pass this runs on the SQLite test database; on the scale-out pass (.ci/run with DATABASE_URL and
Q_REDIS_URL) the same test runs gunicorn on PostgreSQL and the Redis cache.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] or ""
    if db["PASSWORD"]:
        auth += f":{db['PASSWORD']}"
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def production_env(var: Path, *, database_url: str) -> dict[str, str]:
    # The test run's own relaxations (no SSL redirect, insecure cookies, no manifest) must not leak in.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DEBUG", "STATIC_", "SENTRY", "DATABASE_URL"))
    }
    env.update(
        {
            "DEBUG": "0",
            "STATIC_MANIFEST": "1",
            "SECRET_KEY": "a-production-grade-secret-key-with-plenty-of-entropy-8f3a9c1e7d2b6a40f5e9",
            "ALLOWED_HOSTS": "127.0.0.1",
            "OPS_IGNORE_DOTENV": "1",
            "DATABASE_URL": database_url,
            "VAR_DIR": str(var),  # STATIC_ROOT is VAR_DIR/static
            "LOG_DIR": str(var / "logs"),
            "CACHE_DIR": str(var / "cache"),
        }
    )
    return env


def get(port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    # Behind the TLS proxy (SECURE_PROXY_SSL_HEADER): no redirect to https, secure cookies as in production.
    conn.request("GET", path, headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """A VAR_DIR whose static/ holds `collectstatic` output (hashed, compressed): collected once, it takes a while."""
    var = tmp_path_factory.mktemp("production-var")
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=production_env(var, database_url="sqlite:///:memory:"),
        capture_output=True,
        text=True,
        check=False,
        timeout=280,
    )
    assert collected.returncode == 0, collected.stderr
    assert (var / "static" / "staticfiles.json").exists()
    yield var
    shutil.rmtree(var / "static", ignore_errors=True)


@pytest.fixture
def gunicorn_server(transactional_db, var_dir, tmp_path):
    if not GUNICORN.exists():
        pytest.skip(f"gunicorn cannot start: {GUNICORN} is not installed (requirements/prod.txt)")
    env = production_env(var_dir, database_url=database_url())
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [str(GUNICORN), "ops.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text(errors="replace"))
            time.sleep(0.2)
    yield port
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


def test_gunicorn_with_debug_off_serves_the_admin_login_and_its_hashed_static_files(gunicorn_server):
    login = get(gunicorn_server, "/admin/login/")

    assert login.status == 200, login.body[:2000]
    page = login.body.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert "Secure" in (login.getheader("Set-Cookie") or "")
    # The manifest storage rewrote every {% static %} to a content-hashed name.
    stylesheets = re.findall(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
    assert stylesheets, "no hashed stylesheet on the login page"

    css = get(gunicorn_server, stylesheets[0])

    assert css.status == 200
    assert css.getheader("Content-Type", "").startswith("text/css")
    assert len(css.body) > 0
    # whitenoise marks hashed files as cacheable forever.
    assert "immutable" in (css.getheader("Cache-Control") or "")


def test_a_static_file_missing_from_the_collection_is_a_404_not_a_500(gunicorn_server):
    assert get(gunicorn_server, "/static/no-such-file.3f2a1b4c5d6e.css").status == 404
