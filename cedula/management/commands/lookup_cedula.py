"""python manage.py lookup_cedula CEDULA [--registry-url URL] [--json]

One lookup now, in this process: no queue, no database write. With --json stdout carries exactly one JSON object on
one line; logs go to stderr. Exit 0 whenever a lookup happened (whatever its outcome), 2 for an invalid cedula.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cedula.normalize import normalize_cedula
from cedula.registry.browser import BrowserConfig, RegistryClient
from cedula.registry.parser import RESULT_FIELDS, LookupReport
from cedula.registry.sources import SOURCES


def _as_json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def report_as_dict(cedula: str, report: LookupReport) -> dict[str, Any]:
    result = report.result
    return {
        "cedula": cedula,
        "status": result.status,
        "error_kind": result.error_kind,
        **{name: _as_json(getattr(result, name)) for name in RESULT_FIELDS},
        "duration_ms": report.duration_ms,
        "source": report.source,
    }


async def _lookup_once(config: BrowserConfig, cedula: str, source: str) -> LookupReport:
    client = RegistryClient(config)
    try:
        return await client.lookup(cedula, source=source)
    finally:
        await client.close()


class Command(BaseCommand):
    help = "Consulta una cédula en el registro ahora mismo (sin cola y sin escribir en la base de datos)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cedula", help="la cédula, con o sin puntos")
        parser.add_argument("--registry-url", default=None, help="URL del formulario (por omisión REGISTRY_URL)")
        parser.add_argument("--json", action="store_true", help="imprime un único objeto JSON en una línea")
        parser.add_argument(
            "--source",
            default=None,
            choices=list(SOURCES),
            help="la página del registro que se consulta (por omisión la primera de REGISTRY_SOURCES)",
        )

    def handle(
        self, *args: Any, cedula: str, registry_url: str | None, json: bool, source: str | None, **options: Any
    ) -> None:
        try:
            digits = normalize_cedula(cedula)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        config = BrowserConfig.from_settings(registry_url=registry_url, prewarm=False)
        report = asyncio.run(_lookup_once(config, digits, source or settings.REGISTRY_SOURCES[0]))
        data = report_as_dict(digits, report)
        if json:
            self.stdout.write(_json_line(data))
        else:
            self._print_human(data, report.result.message)

    def _print_human(self, data: dict[str, Any], message: str) -> None:
        for key, value in data.items():
            if value is not None:
                self.stdout.write(f"{key:>14}: {value}")
        if message:
            self.stdout.write(f"{'mensaje':>14}: {message}")


def _json_line(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)
