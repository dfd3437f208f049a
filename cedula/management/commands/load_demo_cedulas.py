"""Queue the stand-in registry's demo cedulas so a newcomer watches them reach their final statuses."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from cedula import services
from cedula.models import CedulaInfo, Priority, Source
from cedula.registry.simulator.outcomes import demo_cedulas


class Command(BaseCommand):
    help = "Queue the stand-in registry's demo cedulas (ones already known are left as they are)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, limit: int, **options: Any) -> None:
        cedulas = sorted(demo_cedulas())[:limit]
        known = set(CedulaInfo.objects.filter(cedula__in=cedulas).values_list("cedula", flat=True))
        for cedula in cedulas:
            if cedula not in known:
                services.cedula_request_lookup(cedula=cedula, priority=Priority.BULK, source=Source.ADMIN)
        self.stdout.write(f"demo cedulas: {len(cedulas) - len(known)} queued, {len(known)} already known")
