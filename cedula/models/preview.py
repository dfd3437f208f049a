"""The server's record of an import waiting for its confirmation."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportPreview(models.Model):
    """An upload read and shown as a preview. The confirm form carries only `key`: the file name and the reading of
    the file stay here and on disk, so nothing the browser sends back is trusted. `confirmed_at` is claimed by one
    conditional UPDATE, so a second or concurrent confirmation of the same preview imports nothing."""

    key = models.CharField("clave", max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="subida por", null=True, on_delete=models.CASCADE, related_name="+"
    )
    file_name = models.CharField("archivo", max_length=255)
    created_at = models.DateTimeField("subida", auto_now_add=True, db_index=True)
    confirmed_at = models.DateTimeField("confirmada", null=True, blank=True)
    batch = models.ForeignKey(
        "cedula.ImportBatch", verbose_name="lote", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "previsualización de importación"
        verbose_name_plural = "previsualizaciones de importación"

    def __str__(self) -> str:
        return self.file_name
