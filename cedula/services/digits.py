"""Rows stored before normalize_cedula mapped Unicode digits ("８１０００００２" beside "81000002"): find them, give
each its canonical ASCII form where that form is free, and report, never merge, where an ASCII twin already exists
(two rows, two histories: which one is right is staff's call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import structlog
from django.contrib.auth import get_user_model
from django.db import transaction

from cedula.models import CedulaInfo
from cedula.normalize import mask_cedula, normalize_cedula

logger = structlog.get_logger(__name__)

_CANONICAL = r"^[0-9]+$"


@dataclass(frozen=True)
class StoredDigit:
    table: str  # "cedula" | "usuario"
    pk: int
    stored: str
    canonical: str  # "" when the stored text is no cedula at all
    twin_pk: int | None  # the row that already holds the canonical form


@dataclass
class DigitsRepair:
    found: list[StoredDigit] = field(default_factory=list)
    normalised: int = 0
    twins: int = 0
    invalid: int = 0


def _canonical(text: str) -> str:
    try:
        return normalize_cedula(text)
    except ValueError:
        return ""


def cedula_digits_repair(*, apply: bool) -> DigitsRepair:
    """Every cedula row and account whose stored cedula is not plain ASCII digits. With `apply`, each one whose
    canonical form is free takes it; twins and values that are no cedula are only reported."""
    User = get_user_model()  # noqa: N806 - the model class
    report = DigitsRepair()
    with transaction.atomic():
        rows = CedulaInfo.objects.exclude(cedula__regex=_CANONICAL).select_for_update().order_by("pk")
        for pk, stored in rows.values_list("pk", "cedula"):
            canonical = _canonical(stored)
            twin = (
                CedulaInfo.objects.filter(cedula=canonical).values_list("pk", flat=True).first() if canonical else None
            )
            report.found.append(StoredDigit("cedula", pk, stored, canonical, twin))
        users = User.objects.exclude(cedula__isnull=True).exclude(cedula__regex=_CANONICAL).order_by("pk")
        for pk, stored_user in users.values_list("pk", "cedula"):
            stored = stored_user or ""
            canonical = _canonical(stored)
            twin = User.objects.filter(cedula=canonical).values_list("pk", flat=True).first() if canonical else None
            report.found.append(StoredDigit("usuario", pk, stored, canonical, twin))
        for item in report.found:
            if not item.canonical:
                report.invalid += 1
            elif item.twin_pk is not None:
                report.twins += 1
            elif apply:
                model: Any = CedulaInfo if item.table == "cedula" else User
                report.normalised += model.objects.filter(pk=item.pk).update(cedula=item.canonical)
    logger.info(
        "cedula_digits_repaired",
        found=len(report.found),
        normalised=report.normalised,
        twins=report.twins,
        invalid=report.invalid,
        applied=apply,
        cedulas=[mask_cedula(item.canonical or item.stored) for item in report.found[:20]],
    )
    return report
