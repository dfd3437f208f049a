"""A real Django-Q2 cluster (`manage.py qcluster`) as a subprocess on the test database, for integration tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from devtools.procs import descendants, process_name

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, *, registry_url: str, log_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.registry_url = registry_url
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        db = connection.settings_dict
        env = dict(os.environ)
        if db["ENGINE"].endswith("sqlite3"):
            env["DATABASE_URL"] = f"sqlite:///{Path(db['NAME']).resolve()}"
        else:
            env["DATABASE_URL"] = (
                f"postgres://{db['USER'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            )
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "ops.settings",
                "OPS_IGNORE_DOTENV": "1",
                "DEBUG": "1",
                "REGISTRY_URL": self.registry_url,
                "REGISTRY_MIN_GAP_S": str(settings.REGISTRY_MIN_GAP_S),
                "LOOKUP_RETRY_DELAYS_S": ",".join(str(d) for d in settings.LOOKUP_RETRY_DELAYS_S),
                "LOG_DIR": str(self.log_dir),
                "LOG_FORMAT": "json",
                "CACHE_DIR": str(self.log_dir.parent / "cache"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr = open(self.log_dir / "qcluster.stderr", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.env(),
            stdout=self.stderr,
            stderr=self.stderr,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def worker_pids(self, timeout: float = 30.0) -> list[int]:
        """Pids of the Django-Q2 worker processes (the ones that run tasks and own a Chromium)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for p in descendants(self.pid) if "qcluster" in process_name(p)]
            # sentinel + monitor + pusher + workers: the worker is the one whose children include a browser or
            # any python child of the sentinel; Django-Q2 names them in its logs only, so return them all.
            if pids:
                return pids
            time.sleep(0.2)
        return []

    def chromium_pids(self) -> list[int]:
        return [p for p in descendants(self.pid) if "chrom" in process_name(p)]

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._kill_group()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self._kill_group()

    def kill(self) -> None:
        """SIGKILL the whole cluster, as a crash would."""
        assert self.proc is not None
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.stderr.close()

    def log_text(self) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*")):
            if path.is_file():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def task_worker_pids(self) -> list[int]:
        """Pids of the processes Django-Q2 logged as "ready for work" (task workers, not sentinel/monitor/pusher),
        still alive, newest last."""
        pids = [int(m) for m in re.findall(r"ready for work at (\d+)", self.log_text())]
        return [p for p in pids if p in self.worker_pids(timeout=1)]
