"""Django-Q2's task admin in the console's look: its own admin classes, re-registered on Unfold's ModelAdmin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_q import admin as q_admin
from django_q.conf import Conf
from django_q.models import Failure, OrmQ, Schedule, Success
from unfold.admin import ModelAdmin

from cedula.services.audit import audit_record

for _model in (Success, Failure, Schedule, OrmQ):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.action(description="Reenviar las tareas seleccionadas", permissions=["change"])
def resubmit_task(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    # django_q's action carries no permission: a read-only user would see it.
    count = queryset.count()
    q_admin.resubmit_task(model_admin, request, queryset)
    audit_record(request=request, action="task.resubmit", target=queryset, count=count)


@admin.register(Success)
class SuccessAdmin(q_admin.TaskAdmin, ModelAdmin):
    actions = [resubmit_task]


@admin.register(Failure)
class FailureAdmin(q_admin.FailAdmin, ModelAdmin):
    actions = [resubmit_task]


@admin.register(Schedule)
class ScheduleAdmin(q_admin.ScheduleAdmin, ModelAdmin):
    pass


if Conf.ORM or Conf.TESTING:

    @admin.register(OrmQ)
    class QueueAdmin(q_admin.QueueAdmin, ModelAdmin):
        pass
