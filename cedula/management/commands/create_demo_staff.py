"""Create (or reset) the demo staff login that `make run` prints. A random password each time."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_EMAIL = "demo@consola.local"


class Command(BaseCommand):
    help = "Create or reset the demo staff user and print its login."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL)

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        password = secrets.token_urlsafe(12)
        User = get_user_model()  # noqa: N806 (the project's user model, whichever app defines it)
        user, created = User.objects.get_or_create(email=email, defaults={"is_staff": True, "is_superuser": True})
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Demo staff login ({'created' if created else 'password reset'}): {email} / {password}")
