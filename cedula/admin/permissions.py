"""The console's permission checks, defined once (the codenames are in cedula/permissions.py).

Unfold asks `has_<name>_permission` for an action declared with `permissions=["<name>"]`; import-export asks
`has_export_permission`. Each admin that needs one takes the mixin (before ModelAdmin, so it wins over the default)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cedula import permissions


class QueuePermissionMixin:
    def has_queue_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(permissions.QUEUE)


class ExportPermissionMixin:
    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(permissions.EXPORT)
