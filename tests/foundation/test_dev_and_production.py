"""Development and production kept apart: `./dev` is the only way into DEBUG, a production start needs a SECRET_KEY.

Each test runs a fresh copy of the checkout (code only: no .env, no var/) in a bare environment, as a new terminal or
a deployment would.
"""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ops.devenv import DEV_ENV_NAME, ensure_dev_env

ROOT = Path(__file__).resolve().parents[2]
SHELL_PRINT = ("shell", "-v", "0", "-c", "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in ("ops", "cedula", "templates"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("manage.py", "dev"):
        shutil.copy2(ROOT / name, copy / name)
    (copy / ".venv").symlink_to(ROOT / ".venv")  # the interpreter make installed; ./dev runs .venv/bin/python
    (copy / "logs").mkdir()
    return copy


def bare_env(**extra: str) -> dict[str, str]:
    """A new terminal: PATH and HOME, none of the variables this test run set (SECRET_KEY, OPS_IGNORE_DOTENV, ...)."""
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **extra}


def run(checkout: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=checkout, env=env or bare_env(), capture_output=True, text=True, check=False, timeout=120
    )


def test_a_checkout_without_env_files_and_without_debug_refuses_to_start(checkout):
    result = run(checkout, sys.executable, "manage.py", "check")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr
    assert not (checkout / "var" / DEV_ENV_NAME).exists()


def test_the_dev_file_make_wrote_does_not_switch_a_production_process_into_debug(checkout):
    ensure_dev_env(checkout / "var")  # as `make run` left it

    refused = run(checkout, sys.executable, "manage.py", "check")
    assert refused.returncode != 0 and "SECRET_KEY must be set when DEBUG is off" in refused.stderr

    production = run(
        checkout,
        sys.executable,
        "manage.py",
        *SHELL_PRINT,
        env=bare_env(SECRET_KEY="a-production-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"),
    )
    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["False", "a-production-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"]


def test_the_production_path_does_not_write_the_dev_file(checkout):
    production = bare_env(
        SECRET_KEY="a-production-grade-secret-key-with-plenty-of-entropy-8f3a9c1e7d2b6a40f5e9",
        ALLOWED_HOSTS="consola.example.com",
    )
    for command in (["check", "--deploy"], ["migrate", "--noinput"], ["showmigrations"]):
        result = run(checkout, sys.executable, "manage.py", *command, env=production)
        assert result.returncode == 0, result.stdout + result.stderr

    assert not (checkout / "var" / DEV_ENV_NAME).exists()


def test_only_the_settings_write_the_dev_file_and_only_when_a_command_asked_for_development():
    callers = []
    for path in [*ROOT.glob("ops/**/*.py"), *ROOT.glob("cedula/**/*.py"), *ROOT.glob("bench/*.py")]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If):
                guarded = ast.unparse(node.test)
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and ast.unparse(inner.func) == "ensure_dev_env":
                        callers.append((path.relative_to(ROOT).as_posix(), guarded))
    assert callers == [("ops/settings.py", "os.environ.get('OPS_DEV') == '1'")]
    # make reaches it through ./dev only, and writes no .env of its own.
    recipes = [line for line in (ROOT / "Makefile").read_text().splitlines() if not line.lstrip().startswith("#")]
    assert [line for line in recipes if "OPS_DEV" in line or ".env" in line] == []
    assert "\t./dev migrate --noinput" in recipes
    assert "OPS_DEV=1 exec" in (ROOT / "dev").read_text()


def test_dev_runs_in_debug_with_the_key_generated_for_this_checkout(checkout):
    result = run(checkout, "./dev", *SHELL_PRINT)

    assert result.returncode == 0, result.stderr
    dev_env = checkout / "var" / DEV_ENV_NAME
    key = next(line.split("=", 1)[1] for line in dev_env.read_text().splitlines() if line.startswith("SECRET_KEY="))
    assert result.stdout.split() == ["True", key]
    assert len(key) > 50 and "insecure" not in key
    assert stat.S_IMODE(dev_env.stat().st_mode) == 0o600
    # The next command reads the same file: the key stays, sessions stay valid.
    again = run(checkout, "./dev", *SHELL_PRINT)
    assert again.stdout.split() == ["True", key]


def test_the_real_environment_wins_over_the_dev_file(checkout):
    result = run(checkout, "./dev", *SHELL_PRINT, env=bare_env(DEBUG="0", SECRET_KEY="k" * 60))

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "k" * 60]
