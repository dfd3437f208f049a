"""python manage.py normalize_stored_cedulas [--apply]

Finds cedula rows and accounts stored with non-ASCII digits (fullwidth, Arabic-Indic...: accepted as typed before
normalize_cedula mapped them). Without --apply it only reports. With --apply each one whose ASCII form is free takes
it; where an ASCII twin already exists it is reported and left for staff to resolve (never merged silently).
stdout carries one JSON object: {"found": n, "normalised": k, "twins": t, "invalid": i, "rows": [...]}. Exit 0.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cedula.services.digits import cedula_digits_repair


class Command(BaseCommand):
    help = "Encuentra cédulas guardadas con dígitos no ASCII y, con --apply, las normaliza donde no hay gemela."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apply", action="store_true", help="normaliza las que no tienen gemela ASCII")

    def handle(self, *args: Any, apply: bool, **options: Any) -> None:
        report = cedula_digits_repair(apply=apply)
        payload = {
            "found": len(report.found),
            "normalised": report.normalised,
            "twins": report.twins,
            "invalid": report.invalid,
            "rows": [asdict(item) for item in report.found],
        }
        self.stdout.write(json.dumps(payload, ensure_ascii=False))
