"""python manage.py registry_simulator [--port 8001] [--min-gap S] [--captcha] [--overrides FILE] [--realistic] [...]

Serves the local stand-in of the registry's census page and its second source, consultacenso (see
cedula/registry/simulator) until interrupted. `--realistic` turns on every page behaviour of a production page
(placeholder, interstitial, late form, late render, re-wrapped answer, renamed elements); each one also has its own
flag. `--source-state wsp=changed` (repeatable) starts a source changed or down.
"""

from __future__ import annotations

import argparse
from typing import Any

import structlog
from django.core.management.base import BaseCommand, CommandParser

from cedula.registry.simulator import Behaviours, start_simulator
from cedula.registry.simulator.server import DEFAULT_SOLVER_KEY
from cedula.registry.simulator.solver import SOLVER_ERRORS
from cedula.registry.simulator.switch import SOURCE_STATES, SOURCES, parse_source_state

logger = structlog.get_logger(__name__)


def source_state_argument(text: str) -> tuple[str, str]:
    try:
        return parse_source_state(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"se espera FUENTE=ESTADO, con FUENTE en {', '.join(SOURCES)} y ESTADO en {', '.join(SOURCE_STATES)}: "
            f"{text!r}"
        ) from None


class Command(BaseCommand):
    help = "Sirve el simulador local de la página de consulta del registro (no es la Registraduría)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument(
            "--min-gap", type=float, default=0.0, help="segundos mínimos entre consultas; más rápido = bloqueo"
        )
        parser.add_argument(
            "--captcha", action="store_true", help="exige g-recaptcha-response y sirve la API de resolución"
        )
        parser.add_argument("--solver-key", default=DEFAULT_SOLVER_KEY, help="clave aceptada por in.php / res.php")
        parser.add_argument(
            "--solve-delay", type=float, default=0.3, help="segundos que tarda el resolvedor en entregar un token"
        )
        parser.add_argument(
            "--token-life", type=float, default=120.0, help="segundos que la página acepta un token (una sola vez)"
        )
        parser.add_argument(
            "--solver-error",
            default="",
            choices=["", *SOLVER_ERRORS],
            help="el resolvedor responde este error en cada llamada (saldo, sin cupo, irresoluble, clave)",
        )
        parser.add_argument(
            "--realistic", action="store_true", help="todas las conductas de una página real a la vez (ver abajo)"
        )
        parser.add_argument(
            "--placeholder", action="store_true", help="escribe «Consultando…» en el área de respuesta antes del POST"
        )
        parser.add_argument(
            "--interstitial",
            action="store_true",
            help="primera visita: página JavaScript que pone una cookie y recarga",
        )
        parser.add_argument(
            "--form-delay",
            type=float,
            default=None,
            metavar="S",
            help=f"formulario oculto al cargar, visible tras S s (realista: {Behaviours.REALISTIC_FORM_DELAY_S})",
        )
        parser.add_argument(
            "--render-delay",
            type=float,
            default=None,
            metavar="S",
            help=f"respuesta pintada S s después de llegar (realista: {Behaviours.REALISTIC_RENDER_DELAY_S})",
        )
        parser.add_argument(
            "--wrapped", action="store_true", help="la respuesta se vuelve a pintar dentro de más marcado"
        )
        parser.add_argument(
            "--renamed", action="store_true", help="ids cambiados: botón, select y área de respuesta (textos iguales)"
        )
        parser.add_argument(
            "--drift",
            choices=["on", "off"],
            default=None,
            help="con --realistic: «off» conserva los nombres de la página (la demo de `make run`, sana); «on» los "
            "cambia a propósito para ver la deriva en el panel (DEMO_REGISTRY_DRIFT=on make run)",
        )
        parser.add_argument(
            "--overrides", default=None, help="archivo JSON de respuestas cambiadas, releído en cada cambio"
        )
        parser.add_argument(
            "--source-state",
            action="append",
            type=source_state_argument,
            default=[],
            metavar="FUENTE=ESTADO",
            help="estado inicial de una fuente (wsp, consultacenso): ok, changed (rediseñada, irreconocible) o down "
            "(caída); repetible. Se cambia en marcha con POST /__stand-in/source (name, state)",
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        min_gap: float,
        captcha: bool,
        solver_key: str,
        solve_delay: float,
        token_life: float,
        solver_error: str,
        overrides: str | None,
        realistic: bool,
        placeholder: bool,
        interstitial: bool,
        form_delay: float | None,
        render_delay: float | None,
        wrapped: bool,
        renamed: bool,
        drift: str | None = None,
        source_state: list[tuple[str, str]] | None = None,
        **options: Any,
    ) -> None:
        site = start_simulator(
            host=host,
            port=port,
            min_gap_s=min_gap,
            captcha=captcha,
            solver_key=solver_key,
            solve_delay_s=solve_delay,
            token_life_s=token_life,
            solver_error=solver_error,
            overrides_file=overrides,
            realistic=realistic,
            # A switch left off keeps --realistic's choice; given, it turns the behaviour on.
            placeholder=placeholder or None,
            interstitial=interstitial or None,
            form_delay_s=form_delay,
            render_delay_s=render_delay,
            wrapped=wrapped or None,
            renamed=True if renamed or drift == "on" else False if drift == "off" else None,
            source_states=dict(source_state or []),
        )
        on = ", ".join(site.behaviours.names()) or "ninguna"
        sources = ", ".join(f"{name}={site.source_state(name)}" for name in SOURCES)
        self.stderr.write(
            f"Stand-in registry at {site.url} and {site.consultacenso_url} (behaviours: {on}; sources: {sources}; "
            "Ctrl-C to stop)"
        )
        try:
            site.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            site.stop()
            logger.info("registry_simulator_stopped", url=site.url)
