from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from cedula.models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(ModelAdmin):
    list_display = ["file_name", "created_at", "created_by", "total_rows", "new_rows", "invalid_rows"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):  # batches come from imports only
        return False
