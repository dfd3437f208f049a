"""ImportBatch: one row per imported file, with how far its lookups have got."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import display

from cedula import selectors
from cedula.admin.readonly import ReadOnlyAdminMixin
from cedula.models import ImportBatch


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, ModelAdmin):  # batches come from imports only
    list_display = ["file_name", "created_at", "created_by", "total_rows", "new_rows", "requeued_rows", "invalid_rows",
                    "cedulas_link"]  # fmt: skip
    list_select_related = ["created_by"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields] + ["progress"]

    @display(description="cédulas")
    def cedulas_link(self, obj: ImportBatch) -> str:
        url = reverse("admin:cedula_cedulainfo_changelist") + f"?import_batch__id__exact={obj.pk}"
        return format_html('<a class="text-primary-600" href="{}">ver</a>', url)

    @display(description="avance de las consultas")
    def progress(self, obj: ImportBatch) -> str:
        batch = selectors.import_batch_progress(ids=[obj.pk])[0]
        return f"{batch.done} de {batch.total} consultadas ({batch.percent} %)"
