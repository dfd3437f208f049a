"""The console's security pages, for superusers only: "Auditoría" (read-only, exportable) and "Bloqueos de ingreso"
(unlock). Also the site-wide bulk delete, audited as one record per action."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.db.models import QuerySet
from django.http import HttpRequest
from import_export import fields, resources
from import_export.admin import ExportMixin
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import DropdownFilter
from unfold.contrib.import_export.forms import ExportForm
from unfold.decorators import action, display

from cedula.admin.filters import LocalRangeDateTimeFilter
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.importing import escape_formula
from cedula.models import AuditRecord
from cedula.request_audit import audit_request
from cedula.services.audit import ACTION_LABELS, action_label, suppress_logentry_audit
from ops.accounts.models import LoginLock, User
from ops.net import client_ip

LOGIN_OUTCOME_COLORS = {"success": "success", "failure": "danger", "denied": "warning"}


class SuperuserOnlyMixin:
    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser


# --- Auditoría ----------------------------------------------------------------------------------------------------


class ActorFilter(DropdownFilter):
    title = "quién"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        staff = User.objects.filter(is_staff=True).order_by("email").values_list("pk", "email")
        return [(str(pk), email) for pk, email in staff] + [("none", "(sin usuario)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value == "none":
            return queryset.filter(actor__isnull=True)
        if value and value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset


class ActionFilter(DropdownFilter):
    title = "acción"
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted(ACTION_LABELS.items(), key=lambda item: item[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(action=self.value()) if self.value() else queryset


class AuditRecordResource(resources.ModelResource):
    action_label = fields.Field(column_name="acción (texto)")

    class Meta:
        model = AuditRecord
        fields = ["id", "at", "actor_email", "ip", "action", "action_label", "target_type", "target_id", "target_repr",
                  "count", "outcome", "details"]  # fmt: skip
        export_order = fields

    def dehydrate_action_label(self, obj: AuditRecord) -> str:
        return action_label(obj.action)

    def export_field(self, field: Any, instance: AuditRecord, **kwargs: Any) -> Any:
        # Usernames typed at a login form reach this file: never let a cell run as a formula.
        return escape_formula(super().export_field(field, instance, **kwargs))


@admin.register(AuditRecord)
class AuditRecordAdmin(ReadOnlyAdminMixin, SuperuserOnlyMixin, ExportMixin, ModelAdmin):
    list_display = ["at", "actor_email", "ip", "action_text", "target_repr", "count", "outcome_badge"]
    list_filter = [ActorFilter, ActionFilter, ("at", LocalRangeDateTimeFilter)]
    list_filter_submit = True
    search_fields = ["target_repr", "target_id"]
    ordering = ["-at", "-id"]
    sortable_by = ["at"]
    list_per_page = 50
    show_full_result_count = False
    readonly_fields = ["at", "actor", "actor_email", "ip", "action", "target_type", "target_id", "target_repr",
                       "count", "outcome", "details"]  # fmt: skip
    resource_classes = [AuditRecordResource]
    export_form_class = ExportForm

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    @display(description="acción", ordering="action")
    def action_text(self, obj: AuditRecord) -> str:
        return action_label(obj.action)

    @display(description="resultado", label=LOGIN_OUTCOME_COLORS)
    def outcome_badge(self, obj: AuditRecord) -> tuple[str, str]:
        return obj.outcome, obj.get_outcome_display()

    def get_data_for_export(self, request: HttpRequest, queryset: QuerySet, **kwargs: Any) -> Any:
        data = super().get_data_for_export(request, queryset, **kwargs)
        audit_request(request, action="audit.export", target="auditoría", count=len(data),
                     filter_query=request.GET)  # fmt: skip
        return data


# --- Bloqueos de ingreso --------------------------------------------------------------------------------------------


@admin.register(LoginLock)
class LoginLockAdmin(ReadOnlyAdminMixin, SuperuserOnlyMixin, ModelAdmin):
    # Not deleted by hand: unlocking is the action below, audited.
    list_display = ["when", "account", "address", "failures", "locked"]
    search_fields = ["username", "ip_address"]
    ordering = ["-attempt_time"]
    fields = ["when", "account", "address", "failures", "path_info", "user_agent"]
    readonly_fields = fields
    actions = ["unlock"]

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @display(description="último intento", ordering="attempt_time")
    def when(self, obj: LoginLock) -> Any:
        return obj.attempt_time

    @display(description="cuenta escrita")
    def account(self, obj: LoginLock) -> str:
        return obj.username or "—"

    @display(description="dirección IP")
    def address(self, obj: LoginLock) -> str:
        return obj.ip_address or "—"

    @display(description="intentos fallidos")
    def failures(self, obj: LoginLock) -> int:
        return obj.failures_since_start

    @display(description="bloqueado", boolean=True)
    def locked(self, obj: LoginLock) -> bool:
        from django.conf import settings

        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    @action(description="Desbloquear (cuenta y dirección)", permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: QuerySet) -> None:
        from ops.accounts.services import login_unlock

        selected = list(queryset.values_list("username", "ip_address"))
        count = login_unlock(
            usernames={u for u, _ in selected if u},
            ips={ip for _, ip in selected if ip},
            actor=cast("User", request.user),  # the admin site lets only staff in
            ip=client_ip(request),
        )
        self.message_user(request, f"Ingreso desbloqueado ({count} registros de intentos borrados).", messages.SUCCESS)


# --- bulk delete, site-wide: one audit record per action -----------------------------------------------------------


@admin.action(permissions=["delete"], description="Eliminar %(verbose_name_plural)s seleccionados")
def audited_delete_selected(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> Any:
    label = queryset.model._meta.label_lower
    count = queryset.count() if request.POST.get("post") else 0
    with suppress_logentry_audit():
        response = delete_selected(modeladmin, request, queryset)
    if request.POST.get("post") and response is None:  # confirmed and done (else: the confirmation page)
        audit_request(
            request,
            action="object.delete",
            target=f"selección de {queryset.model._meta.verbose_name_plural}",
            target_type=label,
            count=count,
        )
    return response


admin.site.add_action(audited_delete_selected, "delete_selected")
