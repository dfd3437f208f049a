"""{{ value|cedula_grouped }}: a cedula the way people write it (1.098.765.432). Storage and search stay digits."""

from __future__ import annotations

from django import template

from cedula.display import format_cedula

register = template.Library()


@register.filter
def cedula_grouped(value: object) -> str:
    return format_cedula(str(value)) if value else ""
