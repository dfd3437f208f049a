"""Process trees for the tests and the benches that watch workers and their Chromium (psutil does the reading)."""

from __future__ import annotations

import psutil


def descendants(root: int) -> list[int]:
    """Every process below `root` (children, grandchildren, ...); [] once `root` is gone."""
    try:
        return [child.pid for child in psutil.Process(root).children(recursive=True)]
    except psutil.Error:
        return []


def process_name(pid: int) -> str:
    """The command line, arguments joined by spaces ("" once the process is gone)."""
    try:
        return " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return ""


def is_alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def rss_kb(pid: int) -> int:
    try:
        return int(psutil.Process(pid).memory_info().rss // 1024)
    except psutil.Error:
        return 0


def pss_kb(pid: int) -> int:
    """Proportional set size: pages shared with other processes counted by share. RSS where the kernel has no PSS."""
    try:
        pss = getattr(psutil.Process(pid).memory_full_info(), "pss", None)
    except psutil.Error:
        return rss_kb(pid)
    return int(pss // 1024) if pss is not None else rss_kb(pid)


def tree_pss_kb(root: int) -> int:
    """PSS of `root` and everything below it: shared pages counted once, not once per process."""
    return sum(pss_kb(pid) for pid in [root, *descendants(root)])
