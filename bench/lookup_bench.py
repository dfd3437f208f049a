"""Lookups against the local stand-in (gap 0): our client reusing one browser vs a fresh browser per lookup.

    .venv/bin/python bench/lookup_bench.py [-n 40]

Both modes run in this same invocation, each in its own child process so its CPU (Python + Playwright's driver +
every Chromium process, reaped or not) is measured exactly with RUSAGE_CHILDREN, while the stand-in runs here and is
not counted; the child's interpreter and Django start-up are subtracted. Each mode's time includes its browser
launches (one for ours, one per lookup for the baseline). Peak RSS is the largest sum of PSS (proportional set size,
so pages shared between Chromium's processes count once) over the child's process tree, sampled every 50 ms.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIN_RATE = 2.0
MIN_RATE_RATIO = 1.5
MAX_CPU_RATIO = 0.6


def _cedulas(n: int) -> list[str]:
    # Ordinary (hash-answered) cedulas: mostly active, some cancelled and not found, as in a bulk import.
    return [str(52_000_000 + i * 7919) for i in range(n)]


async def _child_run(mode: str, url: str, n: int) -> dict[str, object]:
    import django

    django.setup()
    from cedula.registry.browser import BrowserConfig, RegistryClient

    # The baseline is the same client restarted after every lookup: a fresh browser each time.
    config = BrowserConfig.from_settings(registry_url=url, restart_after=1 if mode == "baseline" else 10_000)
    client = RegistryClient(config)
    statuses: dict[str, int] = {}
    # Interpreter and Django start-up are not lookup work: the parent subtracts what was spent before this point.
    startup = resource.getrusage(resource.RUSAGE_SELF)
    startup_cpu_s = startup.ru_utime + startup.ru_stime
    started = time.monotonic()
    for cedula in _cedulas(n):
        report = await client.lookup(cedula)
        key = report.result.status if report.result.status != "error" else f"error:{report.result.error_kind}"
        statuses[key] = statuses.get(key, 0) + 1
    elapsed = time.monotonic() - started
    await client.close()
    return {"mode": mode, "n": n, "elapsed_s": elapsed, "statuses": statuses, "startup_cpu_s": startup_cpu_s}


def _tree_rss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            # PSS, not RSS: Chromium's processes share most of their pages and RSS would count them once each.
            with open(f"/proc/{entry}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        rss[int(entry)] = int(line.split()[1])
                        break
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def _measure(mode: str, url: str, n: int) -> dict[str, float]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ops.settings", "LOG_LEVEL": "WARNING", "DEBUG": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", mode, "--url", url, "-n", str(n)],
        stdout=subprocess.PIPE,
        env=env,
        cwd=ROOT,
        text=True,
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} run failed with exit code {proc.returncode}")
    data = json.loads(out.strip().splitlines()[-1])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) - data["startup_cpu_s"]
    return {
        "rate": n / data["elapsed_s"],
        "cpu_per_lookup": cpu / n,
        "peak_rss_mb": peak / 1024,
        "statuses": data["statuses"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="lookups per mode (default 40)")
    parser.add_argument("--baseline-n", type=int, default=None, help="lookups for the baseline (default: n)")
    parser.add_argument("--child", choices=["reuse", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(asyncio.run(_child_run(args.child, args.url, args.n))))
        return 0

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ops.settings")
    from cedula.registry.simulator import start_simulator

    site = start_simulator(min_gap_s=0.0)
    try:
        ours = _measure("reuse", site.url, args.n)
        base = _measure("baseline", site.url, args.baseline_n or args.n)
    finally:
        site.stop()

    rate_ratio = ours["rate"] / base["rate"]
    cpu_ratio = ours["cpu_per_lookup"] / base["cpu_per_lookup"]
    print(f"lookup bench: {args.n} lookups per mode against the stand-in (gap 0), {os.cpu_count()} CPUs")
    for label, m in (("reused browser", ours), ("fresh browser per lookup (baseline)", base)):
        print(
            f"  {label:<38} {m['rate']:5.2f} lookups/s  {m['cpu_per_lookup']:5.3f} CPU s/lookup  "
            f"peak RSS (PSS) {m['peak_rss_mb']:6.1f} MB  outcomes {m['statuses']}"
        )
    ok_rate = ours["rate"] >= MIN_RATE
    ok_ratio = rate_ratio >= MIN_RATE_RATIO
    ok_cpu = cpu_ratio <= MAX_CPU_RATIO
    print(f"  rate        {ours['rate']:.2f}/s (target >= {MIN_RATE})            {'OK' if ok_rate else 'MISS'}")
    print(f"  rate ratio  {rate_ratio:.2f}x baseline (target >= {MIN_RATE_RATIO}x)   {'OK' if ok_ratio else 'MISS'}")
    print(f"  CPU ratio   {cpu_ratio:.2f}x baseline (target <= {MAX_CPU_RATIO}x)   {'OK' if ok_cpu else 'MISS'}")
    return 0 if ok_rate and ok_ratio and ok_cpu else 1


if __name__ == "__main__":
    sys.exit(main())
