"""Pages whose rows change only through services (the worker, imports, the console's actions), never through a form."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """Nobody adds, edits or deletes these rows by hand; viewing stays with the model's view permission.

    Put it first among the bases. `obj` is optional so one signature serves ModelAdmin and inlines alike."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
