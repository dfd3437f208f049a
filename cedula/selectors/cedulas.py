"""A person's own row and what the row filters offer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connection

from cedula.models import (
    CedulaInfo,
    Status,
)

if TYPE_CHECKING:  # types only: the domain never imports the accounts app at run time
    from ops.accounts.models import User


def cedula_for_user(*, user: User) -> CedulaInfo | None:
    return CedulaInfo.objects.filter(user=user).first()


# --- Public side: a person's own lookup and what they may do with it -------------------------------------------------


def lookup_in_progress(info: CedulaInfo | None) -> bool:
    """A lookup is on its way: never answered yet, waiting in the queue (incl. a retry backoff) or held by a worker."""
    return info is not None and (info.status == Status.PENDING or info.is_queued)


def departamentos() -> list[str]:
    """Distinct non-empty departamentos, sorted. A recursive skip-scan over cedula_departamento_idx: one index seek
    per value (about 33) instead of reading a million index entries for DISTINCT."""
    table = CedulaInfo._meta.db_table
    sql = (
        f"WITH RECURSIVE d(v) AS ("  # noqa: S608 (table name from the model, no user input)
        f" SELECT MIN(departamento) FROM {table} WHERE departamento > ''"
        f" UNION ALL"
        f" SELECT (SELECT MIN(departamento) FROM {table} WHERE departamento > d.v) FROM d WHERE d.v IS NOT NULL"
        f") SELECT v FROM d WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]
