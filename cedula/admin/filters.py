"""Changelist filters shared by the console's admins (Unfold's filter widgets, index-friendly queries)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import EMPTY_VALUES
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import DropdownFilter, RangeDateTimeFilter
from unfold.utils import parse_datetime_str

from cedula import selectors


class LocalRangeDateTimeFilter(RangeDateTimeFilter):
    """Unfold's date-time range, reading the typed values as local (TIME_ZONE) times instead of naive ones."""

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        filters = {}
        for end, lookup in (("from", "gte"), ("to", "lte")):
            day = self.used_parameters.get(f"{self.parameter_name}_{end}_0")
            time = self.used_parameters.get(f"{self.parameter_name}_{end}_1") or "00:00"
            if day in EMPTY_VALUES:
                continue
            try:
                value = parse_datetime_str(f"{day} {time}")
            except (ValueError, ValidationError):
                return None
            if value is None:
                return None
            if timezone.is_naive(value):
                value = timezone.make_aware(value)
            filters[f"{self.parameter_name}__{lookup}"] = value
        return queryset.filter(**filters)


class DepartamentoFilter(DropdownFilter):
    title = "departamento"
    parameter_name = "departamento"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin) -> list[tuple[str, str]]:
        return [(d, d) for d in selectors.departamentos()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(departamento=self.value())
        return queryset


class ChangedAtLastCheckFilter(DropdownFilter):
    """Rows whose last final answer differed from the one before (read from the partial cedula_changed_idx)."""

    title = "cambió en la última consulta"
    parameter_name = "changed_at_last_check"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin) -> list[tuple[str, str]]:
        return [("1", "Sí")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "1":
            return queryset.filter(changed_at_last_check=True)
        return queryset
