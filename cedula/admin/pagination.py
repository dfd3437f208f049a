"""A changelist paginator for tables of millions of rows."""

from __future__ import annotations

from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property


class CappedCountPaginator(Paginator):
    """Counts at most `cap` + 1 rows. An exact "1.000.000 cédulas" costs a COUNT(*) over the whole filtered table on
    every page view; nobody pages that far, so beyond the cap the page says "más de N" and filters narrow it down."""

    cap = 10_000
    template_name = "admin/cedula/capped_pagination.html"

    @cached_property
    def count(self) -> int:
        # Without ORDER BY the database may stop at the cap in whichever index is cheapest.
        queryset = cast("QuerySet[Any]", self.object_list)  # the changelists hand a queryset
        return queryset.order_by()[: self.cap + 1].count()

    @property
    def capped(self) -> bool:
        return self.count > self.cap
