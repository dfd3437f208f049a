"""Lookups against the local stand-in (gap 0): our client reusing one browser vs a fresh browser per lookup.

    .venv/bin/python bench/lookup_bench.py [-n 40] [--rounds 4]

Both modes run in this same invocation, each in its own long-lived child process, in alternating rounds (ours n/rounds
lookups, then the baseline's, and again) so that load from other users of the machine hits both alike. CPU is exact:
os.wait4 returns each child's rusage including every descendant it reaped (Playwright's driver and every Chromium
process), minus the child's interpreter and Django start-up; the stand-in runs here and is not counted. Time is the
sum of each mode's rounds and includes its browser launches (one for ours, one per lookup for the baseline). Peak
memory is the largest sum of PSS (pages shared between Chromium's processes counted once) over the child's process
tree, sampled every 50 ms.
Targets (2-core machine): >= 2.0 lookups/s, >= 1.5x the baseline's rate, <= 0.6x its CPU per lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.procs import tree_pss_kb  # noqa: E402

MIN_RATE = 2.0
MIN_RATE_RATIO = 1.5
MAX_CPU_RATIO = 0.6


def _cedulas(start: int, count: int) -> list[str]:
    # Ordinary (hash-answered) cedulas: mostly active, some cancelled and not found, as in a bulk import.
    return [str(52_000_000 + i * 7919) for i in range(start, start + count)]


async def _child(mode: str, url: str) -> None:
    """Serve the parent: "run K" does the next K lookups and answers with their time; "quit" closes and exits."""
    import django

    django.setup()
    from cedula.registry.browser import BrowserConfig, RegistryClient

    startup = resource.getrusage(resource.RUSAGE_SELF)
    # The baseline is the same client restarted after every lookup: a fresh browser each time.
    config = BrowserConfig.from_settings(registry_url=url, restart_after=1 if mode == "baseline" else 100_000)
    client = RegistryClient(config)
    done = 0
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line or line[0] == "quit":
            break
        statuses: dict[str, int] = {}
        started = time.monotonic()
        for cedula in _cedulas(done, int(line[1])):
            report = await client.lookup(cedula)
            result = report.result
            key = result.status if result.status != "error" else f"error:{result.error_kind}"
            statuses[key] = statuses.get(key, 0) + 1
        done += int(line[1])
        print(json.dumps({"elapsed_s": time.monotonic() - started, "statuses": statuses}), flush=True)
    await client.close()
    print(json.dumps({"startup_cpu_s": startup.ru_utime + startup.ru_stime}), flush=True)


class _Mode:
    def __init__(self, mode: str, url: str) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ops.settings", "LOG_LEVEL": "WARNING", "DEBUG": "1"}
        self.name = mode
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", mode, "--url", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
            text=True,
        )
        self.n = 0
        self.elapsed_s = 0.0
        self.statuses: dict[str, int] = {}
        self.peak_kb = 0
        self.cpu_s = 0.0

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name} child died")
        return json.loads(line)

    def run(self, count: int) -> None:
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                self.peak_kb = max(self.peak_kb, tree_pss_kb(self.proc.pid))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            answer = self._ask(f"run {count}")
        finally:
            stop.set()
            sampler.join()
        self.n += count
        self.elapsed_s += answer["elapsed_s"]
        for key, value in answer["statuses"].items():
            self.statuses[key] = self.statuses.get(key, 0) + value

    def finish(self) -> None:
        startup_cpu_s = self._ask("quit")["startup_cpu_s"]
        _pid, status, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        if self.proc.returncode != 0:
            raise SystemExit(f"{self.name} child exited with {self.proc.returncode}")
        self.cpu_s = usage.ru_utime + usage.ru_stime - startup_cpu_s

    @property
    def rate(self) -> float:
        return self.n / self.elapsed_s

    @property
    def cpu_per_lookup(self) -> float:
        return self.cpu_s / self.n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="lookups per mode (default 40)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per mode (default 4)")
    parser.add_argument("--child", choices=["reuse", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        asyncio.run(_child(args.child, args.url))
        return 0

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops.settings")
    from cedula.registry.simulator import start_simulator

    site = start_simulator(min_gap_s=0.0)
    ours, base = _Mode("reuse", site.url), _Mode("baseline", site.url)
    load_before = os.getloadavg()[0]
    try:
        per_round = [args.n // args.rounds + (1 if i < args.n % args.rounds else 0) for i in range(args.rounds)]
        for count in per_round:
            ours.run(count)
            base.run(count)
        ours.finish()
        base.finish()
    finally:
        for mode in (ours, base):
            if mode.proc.returncode is None:
                mode.proc.kill()
        site.stop()

    rate_ratio = ours.rate / base.rate
    cpu_ratio = ours.cpu_per_lookup / base.cpu_per_lookup
    print(
        f"lookup bench: {args.n} lookups per mode in {args.rounds} alternating rounds, stand-in gap 0, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    for label, m in (("reused browser (ours)", ours), ("fresh browser per lookup", base)):
        print(
            f"  {label:<26} {m.rate:5.2f} lookups/s  {m.cpu_per_lookup:5.3f} CPU s/lookup  "
            f"peak PSS {m.peak_kb / 1024:6.1f} MB  outcomes {m.statuses}"
        )
    ok_rate = ours.rate >= MIN_RATE
    ok_ratio = rate_ratio >= MIN_RATE_RATIO
    ok_cpu = cpu_ratio <= MAX_CPU_RATIO
    print(f"  rate        {ours.rate:.2f}/s (target >= {MIN_RATE})            {'OK' if ok_rate else 'MISS'}")
    print(f"  rate ratio  {rate_ratio:.2f}x baseline (target >= {MIN_RATE_RATIO}x)   {'OK' if ok_ratio else 'MISS'}")
    print(f"  CPU ratio   {cpu_ratio:.2f}x baseline (target <= {MAX_CPU_RATIO}x)   {'OK' if ok_cpu else 'MISS'}")
    return 0 if ok_rate and ok_ratio and ok_cpu else 1


if __name__ == "__main__":
    sys.exit(main())
