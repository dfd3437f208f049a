"""The sync facade for the Django-Q2 worker: a private event loop in its own thread, one RegistryClient, and the
calls the client makes back into the caller (the throttle slot) run in the caller's own thread, where its database
connection lives."""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from cedula.normalize import mask_cedula
from cedula.registry.browser.client import RegistryClient
from cedula.registry.browser.config import BrowserConfig
from cedula.registry.browser.slot import SlotTaker
from cedula.registry.browser.steps import error_result
from cedula.registry.parser import LookupReport, LookupResult
from cedula.registry.sources import DEFAULT_SOURCE

logger = structlog.get_logger(__name__)

_Call = tuple[Callable[[], Any], "asyncio.Future[Any]"]


class BrowserRunner:
    """A sync facade for the Django-Q2 worker: a private event loop in its own thread, one RegistryClient."""

    def __init__(self, config: BrowserConfig | None = None) -> None:
        self.config = config or BrowserConfig.from_settings()
        self.client = RegistryClient(self.config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="registry-browser", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()  # one lookup at a time per process
        self._closed = False

    def lookup(
        self,
        cedula: str,
        *,
        take_slot: Callable[[float, float | None, float], bool] | None = None,
        due_after: int | None = None,
        on_step: Callable[[str], object] | None = None,
        source: str = DEFAULT_SOURCE,
    ) -> LookupReport:
        """`take_slot(max_wait_s, sent_at, lead_s)` (sync, run in this thread) reserves the throttle slot right before
        the POST and, given `sent_at` (wall-clock seconds), marks when it left;
        `due_after` is how many more lookups are due (the plan for pages and captchas kept ahead); `on_step` (run in the
        browser's thread, so it must not touch the database) hears each step of the lookup as it starts;
        `source` names the registry's page to ask (cedula.registry.sources)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("BrowserRunner is closed")
            started = time.monotonic()
            calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
            slot = self._bridge(take_slot, calls) if take_slot is not None else None
            future = asyncio.run_coroutine_threadsafe(
                self.client.lookup(cedula, take_slot=slot, due_after=due_after, on_step=on_step, source=source),
                self._loop,
            )
            future.add_done_callback(lambda _: calls.put(None))
            # The client enforces the budget itself; this only guards against a wedged event loop, and still ends well
            # inside Django-Q2's 120 s task timeout with the default 90 s budget.
            deadline = started + self.config.budget_s + 15
            while True:
                try:
                    call = calls.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if call is None:
                    return future.result()
                self._run_here(*call)
            future.cancel()
            logger.error("registry_runner_wedged", cedula=mask_cedula(cedula))
            return LookupReport(
                result=error_result("timeout", "El navegador no terminó dentro de su presupuesto."),
                html="",
                duration_ms=int((time.monotonic() - started) * 1000),
                source=source,
            )

    def probe_page(self, source: str = DEFAULT_SOURCE) -> LookupResult | None:
        """The cheap page probe of a source (RegistryClient.probe_page), sync."""
        with self._lock:
            if self._closed:
                raise RuntimeError("BrowserRunner is closed")
            future = asyncio.run_coroutine_threadsafe(self.client.probe_page(source), self._loop)
            try:
                return future.result(timeout=self.config.nav_timeout_s + self.config.form_timeout_s + 15)
            except concurrent.futures.TimeoutError:
                future.cancel()
                return error_result("timeout", "El navegador no terminó dentro de su presupuesto.")

    def _bridge(
        self, take_slot: Callable[[float, float | None, float], bool], calls: queue.SimpleQueue[_Call | None]
    ) -> SlotTaker:
        loop = self._loop

        async def slot(max_wait_s: float, sent_at: float | None = None, lead_s: float = 0.0) -> bool:
            done: asyncio.Future[Any] = loop.create_future()
            calls.put((lambda: take_slot(max_wait_s, sent_at, lead_s), done))
            return bool(await done)

        return slot

    def _run_here(self, call: Callable[[], Any], done: asyncio.Future[Any]) -> None:
        def settle(value: Any = None, error: BaseException | None = None) -> None:
            if done.done():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(value)

        try:
            value = call()
        except Exception as exc:  # handed back to the client, which classifies it
            self._loop.call_soon_threadsafe(settle, None, exc)
        else:
            self._loop.call_soon_threadsafe(settle, value)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self.client.close(), self._loop).result(timeout=15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()


_runner: BrowserRunner | None = None
_runner_pid: int | None = None
_runner_lock = threading.Lock()


def get_runner() -> BrowserRunner:
    """This process's runner. A forked child gets its own: the parent's loop thread and browser did not come along."""
    global _runner, _runner_pid
    with _runner_lock:
        if _runner is None or _runner_pid != os.getpid():
            _runner = BrowserRunner()
            _runner_pid = os.getpid()
        return _runner


def _close_runner_at_exit() -> None:
    if _runner is not None and _runner_pid == os.getpid():
        with contextlib.suppress(Exception):
            _runner.close()


atexit.register(_close_runner_at_exit)
