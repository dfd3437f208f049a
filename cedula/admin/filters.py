"""Changelist filters shared by the console's admins (Unfold's filter widgets, index-friendly queries)."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import EMPTY_VALUES
from django.db import DataError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import DropdownFilter, RangeDateTimeFilter
from unfold.utils import parse_datetime_str

from cedula import selectors
from cedula.querysets import QUEUED


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


QUEUE_CHOICES = [("si", "en cola o en consulta"), ("no", "fuera de la cola")]


class QueueFilter(DropdownFilter):
    """Queued or not, as the state column reads (cedula/display.py): the dashboard's cards link here."""

    title = "cola"
    parameter_name = "cola"

    def lookups(self, request: HttpRequest, model_admin: ModelAdmin) -> list[tuple[str, str]]:
        return QUEUE_CHOICES

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        queued = QUEUED
        if self.value() == "si":
            return queryset.filter(queued)
        if self.value() == "no":
            return queryset.exclude(queued)
        return queryset


# Query parameters that are not filters (page, ordering, Unfold's internals).
_NOT_FILTERS = {"p", "o", "e", "_changelist_filters", "_to_field", "_popup", "_facets"}
_PARAM_FIELD = re.compile(r"__|_from_|_to_")


def active_filter_chips(request: HttpRequest, model_admin: ModelAdmin) -> list[dict[str, str]]:
    """One chip per active filter (and the search), each naming what it filters and a link that removes only it.
    An import redirects to its batch's filter: the chip says which batch the list shows."""
    params = request.GET
    groups: dict[str, list[str]] = {}
    for key, value in params.items():
        if key in _NOT_FILTERS or value in EMPTY_VALUES:
            continue
        groups.setdefault(_PARAM_FIELD.split(key)[0], []).append(key)
    chips = []
    for name, keys in groups.items():
        described = _describe_filter(model_admin, name, keys, params, request=request)
        if described is None:
            continue
        remaining = params.copy()
        for key in keys:
            remaining.pop(key, None)
        chips.append({"label": described[0], "value": described[1], "remove_url": "?" + remaining.urlencode()})
    return chips


def _related_label(request: HttpRequest, field: Any, value: str) -> str:
    """The related object's name ("ana@example.com" for ?user=7) only for a role that may view that model: the chip
    must not show what the role's own pages would not. A value that is no id of it is shown as typed."""
    related = field.related_model
    opts = related._meta
    if not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return f"#{value}"
    try:
        pk = related._meta.pk.to_python(value)
        obj = related._default_manager.filter(pk=pk).first()
    except (ValueError, TypeError, OverflowError, ValidationError, DataError):
        return value
    return str(obj) if obj is not None else value


# The parameters of a relation's filter that hold its id; any other lookup on it ("user__password__startswith")
# is no filter the console offers (Django refuses it) and gets no chip.
_RELATION_ID_SUFFIXES = ("", "__exact", "__id__exact", "__pk__exact")


def _describe_filter(
    model_admin: ModelAdmin, name: str, keys: list[str], params: Any, *, request: HttpRequest
) -> tuple[str, str] | None:
    if name == "q":
        return "búsqueda", params["q"]
    for spec in model_admin.list_filter:
        if isinstance(spec, type) and getattr(spec, "parameter_name", None) == name and name in params:
            value = params[name]
            # The choice's own words ("Sí", "en cola o en consulta"), as the filter's dropdown shows them.
            choices = dict(spec(request, {name: params.getlist(name)}, model_admin.model, model_admin).lookup_choices)
            return str(getattr(spec, "title", name)), str(choices.get(value, value))
    try:
        field = model_admin.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    label = str(getattr(field, "verbose_name", name))
    if len(keys) == 1 and "_from_" not in keys[0] and "_to_" not in keys[0]:
        value = params[keys[0]]
        if getattr(field, "choices", None):
            return label, str(dict(field.choices).get(value, value))
        if field.is_relation and field.related_model is not None:
            if keys[0] not in {name + suffix for suffix in _RELATION_ID_SUFFIXES}:
                return None
            return label, _related_label(request, field, value)
        return label, value
    parts = []
    for end, word in (("from", "desde"), ("to", "hasta")):
        day, time = params.get(f"{name}_{end}_0"), params.get(f"{name}_{end}_1")
        if day:
            parts.append(f"{word} {day}{' ' + time if time else ''}")
    return label, " ".join(parts) or "—"


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
