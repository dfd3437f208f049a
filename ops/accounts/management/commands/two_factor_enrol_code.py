"""python manage.py two_factor_enrol_code EMAIL

A one-time enrolment code for a staff account past its enrolment window when no other superuser can issue one from
the console (the first superuser of a deployment, say). Whoever runs it has the server: the code goes to stdout only,
and the issue is audited. Exit 0; 2 when there is no such account.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cedula.services.audit import audit_record
from ops.accounts.models import User
from ops.accounts.two_factor import enrol_code_issue


class Command(BaseCommand):
    help = "Genera un código de alta de un solo uso para la verificación en dos pasos de una cuenta."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="correo de la cuenta")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No existe una cuenta con el correo {email}.", returncode=2)
        code = enrol_code_issue(user=user)
        audit_record(actor=None, action="auth.2fa_enrol_code_issued", target=user, count=1,
                     details={"via": "two_factor_enrol_code"})  # fmt: skip
        self.stdout.write(code)
