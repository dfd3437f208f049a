"""devtools/: what the tests and the benches share (process trees through psutil), and bench/ needing nothing else."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import time
from pathlib import Path

from devtools.procs import descendants, is_alive, process_name, tree_pss_kb

ROOT = Path(__file__).resolve().parents[2]


def test_a_process_tree_is_read_with_its_grandchildren_command_lines_liveness_and_memory():
    parent = subprocess.Popen(["sh", "-c", "sleep 31 & sleep 32 & wait"])
    try:
        deadline = time.monotonic() + 10
        # Both children forked and exec'd: right after the fork a child still reads as the shell.
        while time.monotonic() < deadline and sorted(process_name(p) for p in descendants(parent.pid)) != [
            "sleep 31",
            "sleep 32",
        ]:
            time.sleep(0.05)
        names = sorted(process_name(pid) for pid in descendants(parent.pid))
        assert names == ["sleep 31", "sleep 32"]
        assert is_alive(parent.pid)
        assert tree_pss_kb(parent.pid) > 0
    finally:
        kids = descendants(parent.pid)
        for pid in kids:
            os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=10)
    assert not is_alive(parent.pid)
    assert descendants(parent.pid) == []
    assert process_name(parent.pid) == ""


def test_a_zombie_does_not_count_as_alive():
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while is_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not is_alive(child.pid), "an exited child that nobody reaped yet is a zombie, not alive"
    child.wait(timeout=5)


def test_the_benches_import_nothing_from_the_test_suite():
    offenders = []
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name == "tests" or name.startswith("tests.")]
    assert offenders == []
