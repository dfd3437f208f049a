"""The Unfold console: one module per ModelAdmin."""

from cedula.admin import cedula_info, import_batch, lookup_attempt  # noqa: F401
