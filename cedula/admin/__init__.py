"""The Unfold console: one module per ModelAdmin, the dashboard, and Django-Q2's admin in Unfold style."""

from django.contrib import admin

from cedula.admin import cedula_change, cedula_info, django_q, import_batch, lookup_attempt  # noqa: F401

# Django's generic "Sitio administrativo" / "Administración de Django" headings, named for what this is.
admin.site.site_header = "Consola de cédulas"
admin.site.site_title = "Consola de cédulas"
admin.site.index_title = "Panel"
