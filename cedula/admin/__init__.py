"""The Unfold console: one module per ModelAdmin, the dashboard, and Django-Q2's admin in Unfold style."""

from cedula.admin import cedula_change, cedula_info, django_q, import_batch, lookup_attempt  # noqa: F401
