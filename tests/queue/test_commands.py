from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from cedula.models import CedulaInfo, Priority
from ops.accounts.models import User

pytestmark = pytest.mark.django_db


def test_setup_schedules_is_idempotent_and_removes_stale_ones():
    Schedule.objects.create(name="old-job", func="cedula.tasks.gone", schedule_type=Schedule.MINUTES, minutes=5)
    call_command("setup_schedules", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())

    schedules = dict(Schedule.objects.values_list("name", "func"))
    assert schedules == {
        "lookups-dispatch": "cedula.tasks.dispatch",
        "lookups-error-rate": "cedula.tasks.check_error_rate",
        "lookups-revalidate": "cedula.tasks.revalidate",
        "retention-purge": "cedula.tasks.retention_purge",
        "imports-previews-expire": "cedula.tasks.import_previews_expire",
        "accounts-refresh-requests-purge": "ops.accounts.tasks.refresh_requests_purge",
        "lookups-stall": "cedula.tasks.check_stall",
        "lookups-page-changed": "cedula.tasks.check_page_changed",
        "captcha-balance": "cedula.tasks.read_captcha_balance",
    }
    minutes = dict(Schedule.objects.values_list("name", "minutes"))
    assert minutes == {
        "lookups-dispatch": 1,
        "lookups-error-rate": 1,
        "lookups-revalidate": 60,
        "retention-purge": 24 * 60,
        "imports-previews-expire": 60,
        "accounts-refresh-requests-purge": 24 * 60,
        "lookups-stall": 1,
        "lookups-page-changed": 1,
        "captcha-balance": 15,
    }
    assert all(s.repeats == -1 for s in Schedule.objects.all())


def test_every_scheduled_function_exists():
    from importlib import import_module

    from cedula.management.commands.setup_schedules import SCHEDULES

    for func, _minutes in SCHEDULES.values():
        module, name = func.rsplit(".", 1)
        assert callable(getattr(import_module(module), name))


def test_the_demo_staff_login_is_printed_and_works(client):
    out = StringIO()
    call_command("create_demo_staff", stdout=out)
    email, password = out.getvalue().strip().rsplit(": ", 1)[1].split(" / ")

    user = User.objects.get(email=email)
    assert user.is_staff
    # Through the console's login form: the lockout backend (django-axes) authenticates only real requests.
    response = client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    out2 = StringIO()
    call_command("create_demo_staff", stdout=out2)
    assert "password reset" in out2.getvalue() and User.objects.filter(email=email).count() == 1


def test_demo_cedulas_are_queued_once():
    call_command("load_demo_cedulas", stdout=StringIO())
    first = CedulaInfo.objects.count()
    out = StringIO()
    call_command("load_demo_cedulas", stdout=out)

    assert first == 50
    assert CedulaInfo.objects.count() == 50
    assert "0 queued, 50 already known" in out.getvalue()
    assert set(CedulaInfo.objects.values_list("priority", flat=True)) == {Priority.BULK}
