"""Everything held about one cedula, for a data-subject request (Ley 1581 de 2012: the holder may know what is kept).

Read-only; the console's "Exportar datos del titular" downloads it as JSON (and records that it did).
Related tables are found from the model: a new table pointing at CedulaInfo (the change history, for one) is in the
export without touching this module.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from cedula.models import CedulaInfo

EXPORT_VERSION = 1


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _row(obj: models.Model, *, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in exclude:
            continue
        out[field.attname if field.is_relation else field.name] = _value(getattr(obj, field.attname))
    return out


def cedula_data_subject_export(*, cedula: CedulaInfo) -> dict[str, Any]:
    from cedula.models import AuditRecord

    related: dict[str, list[dict[str, Any]]] = {}
    for rel in CedulaInfo._meta.related_objects:
        if rel.one_to_many and rel.related_model is not AuditRecord:
            manager = getattr(cedula, rel.get_accessor_name() or rel.name)
            related[rel.related_model._meta.label_lower] = [_row(o) for o in manager.order_by("pk")]

    user = cedula.user
    account: dict[str, Any] | None = None
    if user is not None:
        account = {
            **{k: _value(getattr(user, k)) for k in ("id", "email", "first_name", "last_name", "cedula")},
            "date_joined": _value(user.date_joined),
            "last_login": _value(user.last_login),
            "refresh_requests": [_value(r) for r in user.refresh_requests.values_list("requested_at", flat=True)],
        }

    named = Q(target_type="cedula.cedulainfo", target_id=str(cedula.pk)) | Q(named_cedulas__cedula_id=cedula.pk)
    if cedula.import_batch_id is not None:
        named |= Q(target_type="cedula.importbatch", target_id=str(cedula.import_batch_id))
    audit = [
        _row(record, exclude=frozenset({"actor"}))
        for record in AuditRecord.objects.filter(named).distinct().order_by("at", "pk")
    ]
    return {
        "version": EXPORT_VERSION,
        "generated_at": timezone.now().isoformat(),
        "cedula": _row(cedula, exclude=frozenset({"claim_token"})),
        "import_batch": _row(cedula.import_batch) if cedula.import_batch is not None else None,
        "account": account,
        "related": related,
        "audit_records": audit,
    }
