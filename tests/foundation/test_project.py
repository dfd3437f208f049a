from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_migrations_are_complete():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_check_deploy_with_production_variables_reports_no_warnings(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_", "DEBUG", "SENTRY"))}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "a-production-grade-secret-key-with-plenty-of-entropy-8f3a9c1e7d2b6a40f5e9",
            "ALLOWED_HOSTS": "consola.example.com",
            "OPS_IGNORE_DOTENV": "1",
            "VAR_DIR": str(tmp_path),
            "LOG_DIR": str(tmp_path / "logs"),
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_settings_refuse_to_start_without_a_secret_key_in_production(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    env.update({"DEBUG": "0", "OPS_IGNORE_DOTENV": "1", "VAR_DIR": str(tmp_path), "LOG_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_sqlite_runs_in_wal_mode_with_immediate_transactions(db):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the default profile's SQLite settings (this run is on another database)")

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


ADMIN_PAGES = [
    "admin:index",
    "admin:cedula_cedulainfo_changelist",
    "admin:cedula_lookupattempt_changelist",
    "admin:cedula_importbatch_changelist",
    "admin:accounts_user_changelist",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_non_staff_get_no_admin(client, user_factory, url):
    user = user_factory(cedula="7654321")
    client.force_login(user)
    response = client.get(reverse(url))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_staff_see_the_console(admin_client, url):
    assert admin_client.get(reverse(url)).status_code == 200


def _settings_text() -> str:
    # ops/settings.py is the entry point; ops/settings_*.py hold blocks of it (star-imported).
    return "".join(path.read_text() for path in sorted((ROOT / "ops").glob("settings*.py")))


def test_env_example_lists_every_setting_read_from_the_environment():
    settings_text = _settings_text()
    example = (ROOT / ".env.example").read_text()
    import re

    names = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', settings_text))
    missing = sorted(n for n in names if f"{n}=" not in example)
    assert not missing, f".env.example lacks: {missing}"


def test_the_readme_documents_every_setting_and_both_commands():
    import re

    settings_text = _settings_text()
    readme = (ROOT / "README.md").read_text()
    names = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', settings_text))
    missing = sorted(n for n in names if f"| `{n}` |" not in readme)
    assert not missing, f"README configuration table lacks: {missing}"
    assert "make run" in readme and "make test" in readme


def test_the_readme_is_a_front_page_and_links_to_the_rest():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    for heading in ("## Two commands", "## How development and production are kept apart", "## Configuration"):
        assert heading in readme
    assert "## Pointing at the real registry" in readme
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)\)", readme))
    assert linked, "the README links to docs/"
    assert all((ROOT / path).exists() for path in linked), linked
    for guide in ("registry", "imports", "console", "public", "observability", "scaling", "benchmarks", "pipeline"):
        assert f"docs/{guide}.md" in linked
