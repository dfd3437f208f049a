"""The handle tests, the bench and the command hold on a running stand-in: its addresses, what it saw, and the
switches that change it while it runs."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from cedula.registry.simulator import switch
from cedula.registry.simulator.behaviours import PATH, SITE_KEY, Behaviours
from cedula.registry.simulator.consultacenso import CONSULTACENSO_PATH

if TYPE_CHECKING:
    from cedula.registry.simulator.server import _Server


class SimulatorHandle:
    """A running stand-in: `.url` is the form page, `.consultacenso_url` the second source's page, `.requests` what it
    saw (newest last)."""

    def __init__(self, server: _Server, thread: threading.Thread, host: str) -> None:
        self._server = server
        self._thread = thread
        port = server.server_address[1]
        self.base_url = f"http://{host}:{port}"
        self.url = f"{self.base_url}{PATH}"
        self.consultacenso_url = f"{self.base_url}{CONSULTACENSO_PATH}"
        self.port = port
        self.solver_key = server.state.solver.key
        self.site_key = SITE_KEY

    @property
    def behaviours(self) -> Behaviours:
        return self._server.state.behaviours

    def set_behaviours(self, behaviours: Behaviours) -> None:
        """Switch the page's behaviours for the pages served from now on (and forget the flaky cedula's first ask)."""
        with self._server.state.lock:
            self._server.state.behaviours = behaviours
            self._server.state.flaky_seen.clear()

    def set_solver_error(self, code: str | None) -> None:
        """Make every solver call answer `code` (ERROR_ZERO_BALANCE, ERROR_KEY_DOES_NOT_EXIST, ...) until cleared."""
        with self._server.state.solver.lock:
            self._server.state.solver.error = code or ""

    def set_down(self, down: bool) -> None:
        """Drop every connection (an outage of the whole site) until set back to False."""
        with self._server.state.lock:
            self._server.state.down = down

    def set_blocking(self, blocking: bool) -> None:
        """Answer the block page to every request for the registry's page (the WAF blocks this client)."""
        with self._server.state.lock:
            self._server.state.blocking = blocking

    def set_source(self, name: str, state: str) -> None:
        """Switch one source ("wsp", "consultacenso") to "ok", "changed" or "down" from its next request on (see
        switch.py); ValueError on an unknown name or state."""
        name, state = switch.checked(name, state)
        with self._server.state.lock:
            self._server.state.sources[name] = state

    def source_state(self, name: str) -> str:
        switch.checked(name, "ok")
        with self._server.state.lock:
            return self._server.state.sources[name]

    def set_solver(self, *, solve_delay_s: float | None = None, token_life_s: float | None = None) -> None:
        """Change how long a solve takes and how long its token is accepted, from now on."""
        solver = self._server.state.solver
        with solver.lock:
            if solve_delay_s is not None:
                solver.solve_delay_s = solve_delay_s
            if token_life_s is not None:
                solver.token_life_s = token_life_s

    def counts(self) -> dict[str, int]:
        """What reached the stand-in: form pages served, lookups POSTed (each source apart), and the solver's counts
        (tasks created, tokens solved, accepted and refused by the page, reported bad)."""
        state = self._server.state
        with state.lock:
            counts = {
                "page_visits": state.page_visits,
                "posts": state.posts,
                "consultacenso_page_visits": state.consultacenso_page_visits,
                "consultacenso_posts": state.consultacenso_posts,
            }
        with state.solver.lock:
            counts |= {f"solver_{name}": value for name, value in state.solver.counts.items()}
        return counts

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self._server.state.requests)

    def lookups(self, source: str | None = "wsp") -> list[dict[str, Any]]:
        """The lookup POSTs of one source seen so far ("wsp": the form's; "consultacenso": its API's; None: both),
        each with the stand-in's answer ("active", "blocked:webdriver", ...)."""
        if source is not None:
            switch.checked(source, "ok")
        paths = {path for name, path in switch.LOOKUP_PATHS.items() if source in (None, name)}
        return [r for r in self.requests if r["method"] == "POST" and r["path"] in paths]

    def stop(self) -> None:
        self._server.state.stop.set()  # releases hung and slow requests
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        self._thread.join()
