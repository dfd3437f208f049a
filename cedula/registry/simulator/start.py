"""Starting the stand-in: its server in a background thread, a handle to steer and read it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import structlog

from cedula.registry.simulator import switch
from cedula.registry.simulator.behaviours import SITE_KEY, Behaviours
from cedula.registry.simulator.handle import SimulatorHandle
from cedula.registry.simulator.overrides import OverridesFile
from cedula.registry.simulator.server import DEFAULT_SOLVER_KEY, _Handler, _Server, _State
from cedula.registry.simulator.solver import StandInSolver

logger = structlog.get_logger(__name__)


def start_simulator(
    *,
    port: int = 0,
    min_gap_s: float = 0.0,
    captcha: bool = False,
    host: str = "127.0.0.1",
    solver_key: str = DEFAULT_SOLVER_KEY,
    solve_delay_s: float = 0.3,
    token_life_s: float = 120.0,
    solver_error: str = "",
    overrides_file: Path | str | None = None,
    realistic: bool = False,
    placeholder: bool | None = None,
    interstitial: bool | None = None,
    form_delay_s: float | None = None,
    render_delay_s: float | None = None,
    wrapped: bool | None = None,
    renamed: bool | None = None,
    dom_message: str = "",
    behaviours: Behaviours | None = None,
    source_states: dict[str, str] | None = None,
) -> SimulatorHandle:
    """Start the stand-in in a background thread (port 0 = a free port) and return once it accepts connections.

    Page behaviours (see Behaviours): each keyword switches one on (or off, over `realistic=True`, which starts with
    all of them on); `behaviours=` passes a ready Behaviours instead. `source_states` starts sources changed or down
    ({"wsp": "changed"}; see switch.py).
    """
    sources = dict.fromkeys(switch.SOURCES, "ok") | dict(
        switch.checked(name, state) for name, state in (source_states or {}).items()
    )
    if behaviours is None:
        chosen = {
            "placeholder": placeholder,
            "interstitial": interstitial,
            "form_delay_s": form_delay_s,
            "render_delay_s": render_delay_s,
            "wrapped": wrapped,
            "renamed": renamed,
        }
        given: dict[str, Any] = {key: value for key, value in chosen.items() if value is not None}
        if dom_message:
            given["dom_message"] = dom_message
        behaviours = Behaviours.realistic(**given) if realistic else Behaviours(**given)
    server = _Server((host, port), _Handler)
    server.state = _State(
        min_gap_s=min_gap_s,
        captcha=captcha,
        solver=StandInSolver(
            site_key=SITE_KEY,
            key=solver_key,
            solve_delay_s=solve_delay_s,
            token_life_s=token_life_s,
            error=solver_error,
        ),
        behaviours=behaviours,
        sources=sources,
    )
    if overrides_file is not None:
        server.state.overrides = OverridesFile(overrides_file)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="registry-simulator", daemon=True
    )
    thread.start()
    handle = SimulatorHandle(server, thread, host)
    logger.info(
        "registry_simulator_started",
        url=handle.url,
        min_gap_s=min_gap_s,
        captcha=captcha,
        behaviours=behaviours.names(),
        sources=sources,
    )
    return handle
