from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from cedula.models import CedulaInfo


@admin.register(CedulaInfo)
class CedulaInfoAdmin(ModelAdmin):
    list_display = ["cedula", "status", "departamento", "municipio", "last_checked", "check_count", "error_kind"]
    list_filter = ["status", "error_kind", "source"]
    search_fields = ["cedula"]
    readonly_fields = [f.name for f in CedulaInfo._meta.fields]
    list_per_page = 50
    show_full_result_count = False
