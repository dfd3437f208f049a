"""Lookups against the local stand-in (gap 0): our client reusing one browser vs a fresh browser per lookup.

    .venv/bin/python bench/lookup_bench.py [-n 40] [--rounds 4] [--only plain|realistic]

Two scenarios, one after the other: the plain stand-in, then the `--realistic` one (placeholder before the POST,
JavaScript interstitial, form shown late, answer rendered late and re-wrapped, renamed elements). `--only` runs one.

Both modes run in this same invocation, each in its own long-lived child process, in alternating rounds (ours n/rounds
lookups, then the baseline's, and again) so that load from other users of the machine hits both alike. CPU is exact:
os.wait4 returns each child's rusage including every descendant it reaped (Playwright's driver and every Chromium
process), minus the child's interpreter and Django start-up; the stand-in runs here and is not counted. Time is the
sum of each mode's rounds and includes its browser launches (one for ours, one per lookup for the baseline). Peak
memory is the largest sum of PSS (pages shared between Chromium's processes counted once) over the child's process
tree, sampled every 50 ms.
Targets (2-core machine): >= 2.0 lookups/s, >= 1.5x the baseline's rate, <= 0.6x its CPU per lookup.
Every lookup must end in an answer of the registry (active, cancelled, not found): a lookup that ended in an error
was not the lookup this bench times, and the bench exits non-zero. `BENCH_SMOKE=1` runs 2 lookups per mode in one
round per scenario: the answers are checked, the targets (meaningless at that size) are printed but not enforced.
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

from devtools.bench import SMOKE, sized  # noqa: E402
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


def _scenario(name: str, url: str, n: int, rounds: int) -> tuple[_Mode, _Mode, float, float]:
    ours, base = _Mode("reuse", url), _Mode("baseline", url)
    load_before = os.getloadavg()[0]
    try:
        per_round = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
        for count in per_round:
            ours.run(count)
            base.run(count)
        ours.finish()
        base.finish()
    finally:
        for mode in (ours, base):
            if mode.proc.returncode is None:
                mode.proc.kill()
    return ours, base, load_before, os.getloadavg()[0]


def _report(name: str, behaviours: list[str], n: int, rounds: int, result: tuple[_Mode, _Mode, float, float]) -> bool:
    ours, base, load_before, load_after = result
    rate_ratio = ours.rate / base.rate
    cpu_ratio = ours.cpu_per_lookup / base.cpu_per_lookup
    print(
        f"lookup bench [{name}]: {n} lookups per mode in {rounds} alternating rounds, stand-in gap 0"
        f"{' (' + ', '.join(behaviours) + ')' if behaviours else ''}, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} -> {load_after:.1f}"
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
    failed = {k: v for m in (ours, base) for k, v in m.statuses.items() if k.startswith("error")}
    if failed or sum(ours.statuses.values()) != n or sum(base.statuses.values()) != n:
        print(f"  FAIL: lookups that did not end in an answer of the registry: {failed}")
        return False
    if SMOKE:
        print("  (BENCH_SMOKE=1: answers checked; the targets mean nothing at this size and are not enforced)")
    return SMOKE or (ok_rate and ok_ratio and ok_cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=sized(40, 2), help="lookups per mode (default 40)")
    parser.add_argument("--rounds", type=int, default=sized(4, 1), help="alternating rounds per mode (default 4)")
    parser.add_argument("--only", choices=["plain", "realistic"], help="run one scenario (default: both)")
    parser.add_argument("--child", choices=["reuse", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        asyncio.run(_child(args.child, args.url))
        return 0

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops.settings")
    from cedula.registry.simulator import start_simulator

    ok = True
    for name in ("plain", "realistic"):
        if args.only and args.only != name:
            continue
        site = start_simulator(min_gap_s=0.0, realistic=name == "realistic")
        try:
            result = _scenario(name, site.url, args.n, args.rounds)
        finally:
            site.stop()
        ok = _report(name, site.behaviours.names(), args.n, args.rounds, result) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
