"""python manage.py registry_simulator [--port 8001] [--min-gap S] [--captcha] [--overrides FILE]

Serves the local stand-in of the registry's census page (see cedula/registry/simulator) until interrupted.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.core.management.base import BaseCommand, CommandParser

from cedula.registry.simulator import start_simulator
from cedula.registry.simulator.server import DEFAULT_SOLVER_KEY

logger = structlog.get_logger(__name__)


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
            "--overrides", default=None, help="archivo JSON de respuestas cambiadas, releído en cada cambio"
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        min_gap: float,
        captcha: bool,
        solver_key: str,
        overrides: str | None,
        **options: Any,
    ) -> None:
        site = start_simulator(
            host=host, port=port, min_gap_s=min_gap, captcha=captcha, solver_key=solver_key, overrides_file=overrides
        )
        self.stderr.write(f"Stand-in registry at {site.url} (Ctrl-C to stop)")
        try:
            site.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            site.stop()
            logger.info("registry_simulator_stopped", url=site.url)
