"""`make run` starts healthy: the Procfile's stand-in keeps its element names (no page drift from minute one), and
DEMO_REGISTRY_DRIFT=on renames them on purpose. The Procfile's own line is run, as honcho runs it (a shell)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _registry_line() -> str:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("registry:"))
    return line.split(":", 1)[1].strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _behaviours(tmp_path: Path, **env: str) -> list[str]:
    command = re.sub(r"--port \d+", f"--port {_free_port()}", _registry_line())
    full_env = {k: v for k, v in os.environ.items() if k != "DEMO_REGISTRY_DRIFT"}
    full_env.update({"VAR_DIR": str(tmp_path), **env})
    process = subprocess.Popen(command, shell=True, cwd=ROOT, env=full_env, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    try:
        for line in process.stderr:
            if "Stand-in registry at" in line:
                return re.search(r"behaviours: ([^;]*);", line).group(1).split(", ")
        raise AssertionError("the stand-in did not start")
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=10)


@pytest.mark.integration
def test_the_demo_stand_in_behaves_like_the_real_page_without_drift(tmp_path):
    on = _behaviours(tmp_path)

    assert {"placeholder", "interstitial", "form_delay_s", "render_delay_s", "wrapped"} <= set(on)
    assert "renamed" not in on


@pytest.mark.integration
def test_the_drift_switch_renames_the_elements_on_purpose(tmp_path):
    assert "renamed" in _behaviours(tmp_path, DEMO_REGISTRY_DRIFT="on")
