"""The repository root holds only what belongs there: no log file or lock is committed, LOG_DIR never follows the
working directory, and an empty LOG_DIR stops the start-up instead of scattering logs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ops.logging import resolve_log_dir

ROOT = Path(__file__).resolve().parents[2]
# What ops.logging writes: the log, its size rotations and concurrent-log-handler's lock file.
LOG_ARTEFACTS = ["ops.jsonl", "ops.jsonl.1", "ops.jsonl.12", ".__ops.jsonl.lock", "other.jsonl"]


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)


def test_no_log_file_or_lock_is_tracked_by_git():
    tracked = _git("ls-files").stdout.splitlines()
    offenders = [p for p in tracked if p.endswith((".jsonl", ".lock")) or ".jsonl." in p]
    assert offenders == []
    # Nothing tracked is matched by .gitignore either (a file committed before its pattern was added).
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard").stdout.split() == []


@pytest.mark.parametrize("name", LOG_ARTEFACTS)
@pytest.mark.parametrize("where", ["", "cedula/"])
def test_gitignore_covers_what_the_logging_writes_wherever_it_lands(where, name):
    _git("rev-parse", "--git-dir")  # skips outside a checkout
    result = subprocess.run(["git", "check-ignore", "--no-index", "-q", f"{where}{name}"], cwd=ROOT, check=False)
    assert result.returncode == 0, f"{where}{name} is not git-ignored"


def test_a_relative_log_dir_resolves_against_the_project_root_not_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_log_dir("logs", base_dir=ROOT) == ROOT / "logs"
    assert resolve_log_dir("var/test-logs", base_dir=ROOT) == ROOT / "var" / "test-logs"
    assert resolve_log_dir(str(tmp_path / "elsewhere"), base_dir=ROOT) == tmp_path / "elsewhere"


def test_the_running_settings_hold_an_absolute_log_dir_under_the_project():
    # pytest sets LOG_DIR=var/test-logs (relative): it must land in the project, wherever pytest was started.
    assert settings.LOG_DIR.is_absolute()
    assert settings.LOG_DIR == settings.BASE_DIR / "var" / "test-logs"


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_log_dir_is_refused(value):
    with pytest.raises(ImproperlyConfigured, match="LOG_DIR must not be empty"):
        resolve_log_dir(value, base_dir=ROOT)


def test_an_empty_log_dir_stops_the_start_up_and_writes_nothing_where_the_command_ran(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "LOG_DIR"}
    env.update({"LOG_DIR": "", "OPS_IGNORE_DOTENV": "1", "VAR_DIR": str(tmp_path / "var")})
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "LOG_DIR must not be empty" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["var"]
