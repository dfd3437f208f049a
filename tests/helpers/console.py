"""Console helpers: the pages of the permission matrix, and the fixtures of the console tests (staff in each role, rows
the console shows), shared by tests/console and tests/security through their conftest."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from django_q.conf import Conf

from cedula.models import ImportBatch, LookupAttempt

PAGES = [
    ("admin:index", None),
    ("admin:cedula_cedulainfo_dashboard", None),
    ("admin:cedula_cedulainfo_changelist", None),
    ("admin:cedula_cedulainfo_change", "cedula"),
    ("admin:cedula_lookupattempt_changelist", None),
    ("admin:cedula_lookupattempt_change", "attempt"),
    ("admin:cedula_importbatch_changelist", None),
    ("admin:cedula_importbatch_change", "batch"),
    ("admin:cedula_cedulachange_changelist", None),
    ("admin:cedula_cedulachange_change", "change"),
    ("admin:django_q_success_changelist", None),
    ("admin:django_q_failure_changelist", None),
    ("admin:django_q_schedule_changelist", None),
    ("admin:cedula_working_now", None),
    ("admin:cedula_importbatch_live", "batch"),
]
if Conf.ORM:  # with the Redis broker the queued tasks live in Redis: there is no queue page
    PAGES.append(("admin:django_q_ormq_changelist", None))


@pytest.fixture(autouse=True)
def _console_settings(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A private cache: Django-Q2's heartbeat and our last-seen mark live there.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path / "c")}
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_in(user_factory):
    """staff_in("Operadores") -> a staff user whose only permissions come from that group (made by migration)."""

    def make(group: str | None):
        user = user_factory(is_staff=group is not None)
        if group:
            if not Group.objects.filter(name=group).exists():
                # A transactional test earlier in the run flushed the tables, migration data included: the roles
                # are put back exactly as the migration makes them.
                from importlib import import_module

                from django.contrib.auth.models import Permission

                roles = import_module("cedula.migrations.0002_roles").ROLES
                perms = [Permission.objects.get(content_type__app_label=a, codename=c) for a, c in roles[group]]
                # Added by the freshness migration (both roles read the change history).
                perms.append(Permission.objects.get(content_type__app_label="cedula", codename="view_cedulachange"))
                if group == "Operadores":  # added by the gate migration ("Probar ahora")
                    perms.append(Permission.objects.get(content_type__app_label="cedula", codename="probe_gate"))
                Group.objects.create(name=group).permissions.set(perms)
            user.groups.add(Group.objects.get(name=group))
        return user

    return make


@pytest.fixture
def attempt_factory():
    def make(cedula, *, outcome="error", error_kind="timeout", message="Sin respuesta", started_at=None, **fields):
        return LookupAttempt.objects.create(
            cedula=cedula,
            started_at=started_at or timezone.now() - dt.timedelta(minutes=5),
            outcome=outcome,
            error_kind=error_kind if outcome == "error" else "",
            message=message if outcome == "error" else "",
            **fields,
        )

    return make


@pytest.fixture
def batch_factory():
    def make(file_name="lote.csv", **fields):
        return ImportBatch.objects.create(file_name=file_name, **fields)

    return make
