from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from cedula.models import LookupAttempt


@admin.register(LookupAttempt)
class LookupAttemptAdmin(ModelAdmin):
    list_display = ["started_at", "cedula", "outcome", "error_kind", "duration_ms", "attempt"]
    list_filter = ["outcome", "error_kind"]
    list_select_related = ["cedula"]
    readonly_fields = [f.name for f in LookupAttempt._meta.fields]
    show_full_result_count = False

    def has_add_permission(self, request):  # attempts are written by the worker only
        return False
