"""Helpers of the public-site tests: rows as a finished lookup leaves them."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cedula.models import CedulaInfo


def settle(info: CedulaInfo, status: str, *, checked_at: dt.datetime | None = None, **fields) -> CedulaInfo:
    """Put a row where a finished lookup leaves it: out of the queue, with a status and result fields."""
    CedulaInfo.objects.filter(pk=info.pk).update(
        status=status,
        next_attempt_at=None,
        claimed_at=None,
        claim_token="",
        last_checked=checked_at or timezone.now(),
        **fields,
    )
    info.refresh_from_db()
    return info


ACTIVE_FIELDS = {
    "departamento": "BOGOTA D.C.",
    "municipio": "BOGOTA D.C.",
    "puesto": "COLEGIO NACIONAL NICOLAS ESGUERRA",
    "direccion": "CRA 69 # 25-32",
    "mesa": "013",
}

CANCELLED_FIELDS = {
    "novedad": "Cancelada por Muerte",
    "resolucion": "0023",
    "fecha_novedad": dt.date(2021, 3, 4),
}
