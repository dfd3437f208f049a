"""Fixtures of the security tests: the console's staff roles and rows, a login through the real forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.helpers.browser import chromium  # noqa: F401
from tests.helpers.console import _console_settings, attempt_factory, batch_factory, staff_in  # noqa: F401

PASSWORD = "clave-segura-123"  # tests.helpers.factories.UserFactory


@pytest.fixture
def admin_login():
    """POST the console's login form (what django-axes watches): admin_login(client, email, password, ip=...)."""

    def post(client, email, password=PASSWORD, ip="203.0.113.7", **extra):
        return client.post(
            reverse("admin:login"),
            {"username": email, "password": password, "next": "/admin/"},
            REMOTE_ADDR=ip,
            **extra,
        )

    return post


@pytest.fixture
def superuser(user_factory):
    return user_factory(email="jefa@example.com", is_staff=True, is_superuser=True)
