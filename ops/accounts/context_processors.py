"""Contacts the public pages name (settings SUPPORT_EMAIL, REGISTRADURIA_HELP_URL)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def public_contacts(request: HttpRequest) -> dict[str, str]:
    return {"support_email": settings.SUPPORT_EMAIL, "registraduria_help_url": settings.REGISTRADURIA_HELP_URL}
