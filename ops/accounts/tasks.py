"""Django-Q2 entry points of the accounts app. Thin and stable by name."""

from __future__ import annotations

from ops.accounts import services


def refresh_requests_purge() -> int:
    """Scheduled daily: refresh requests older than their windows go (retention, docs/security.md)."""
    return services.refresh_requests_purge()
