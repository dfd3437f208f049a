"""Django-Q2's task admin in the console's look: its own admin classes, re-registered on Unfold's ModelAdmin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django_q import admin as q_admin
from django_q.conf import Conf
from django_q.models import Failure, OrmQ, Schedule, Success, Task
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from cedula import services
from cedula.admin.dialogs import NamedConfirmForm, done
from cedula.admin.working import seconds_text
from cedula.console_actions import SCHEDULE_RUN_NOW
from cedula.display import format_cedula
from cedula.models import LookupAttempt
from cedula.normalize import scrub_text
from cedula.request_audit import audit_request
from cedula.staff_time import format_staff_time
from cedula.task_words import interval_text, result_text, task_label

for _model in (Success, Failure, Schedule, OrmQ):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.action(description="Reenviar las tareas seleccionadas", permissions=["change"])
def resubmit_task(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    # django_q's action carries no permission: a read-only user would see it.
    count = queryset.count()
    q_admin.resubmit_task(model_admin, request, queryset)
    audit_request(request, action="task.resubmit", target=queryset, count=count)


class TaskWordsMixin:
    """A task as staff read it: what it does, the cedula a lookup task looked up, when, how long (with its unit), and
    for a lookup its own time apart from the wait for its turn; the result in words."""

    list_display = ("what", "cedula_link", "started_at", "duration", "lookup_split", "result_words")
    list_display_links = ("what",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # One indexed read per task (attempt_task_idx): the attempt a lookup task recorded.
        attempt = LookupAttempt.objects.exclude(task_id="").filter(task_id=OuterRef("id")).order_by("-started_at")
        return (
            super()  # type: ignore[misc]
            .get_queryset(request)
            .annotate(
                attempt_cedula_id=Subquery(attempt.values("cedula_id")[:1]),
                attempt_cedula=Subquery(attempt.values("cedula__cedula")[:1]),
                attempt_ms=Subquery(attempt.values("duration_ms")[:1]),
                attempt_wait_ms=Subquery(attempt.values("wait_ms")[:1]),
            )
        )

    @display(description="tarea", ordering="name")
    def what(self, obj: Task) -> str:
        return task_label(obj.func, obj.name)

    @display(description="cédula")
    def cedula_link(self, obj: Task) -> str:
        if not getattr(obj, "attempt_cedula_id", None):
            return "—"
        url = reverse("admin:cedula_cedulainfo_change", args=[obj.attempt_cedula_id])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', url, format_cedula(obj.attempt_cedula))

    @display(description="inicio", ordering="started")
    def started_at(self, obj: Task) -> str:
        return format_staff_time(obj.started)

    @display(description="duración")
    def duration(self, obj: Task) -> str:
        return seconds_text(obj.time_taken()) if obj.started and obj.stopped else "—"

    @display(description="consulta · espera de turno")
    def lookup_split(self, obj: Task) -> str:
        if getattr(obj, "attempt_ms", None) is None:
            return "—"
        wait = obj.attempt_wait_ms or 0
        return f"{seconds_text((obj.attempt_ms - wait) / 1000)} · {seconds_text(wait / 1000)}"

    @display(description="resultado")
    def result_words(self, obj: Task) -> str:
        if not obj.success:
            return scrub_text(str(obj.result or ""))[:100]
        return result_text(obj.func, obj.result)


@admin.register(Success)
class SuccessAdmin(TaskWordsMixin, q_admin.TaskAdmin, ModelAdmin):
    actions = [resubmit_task]
    list_filter = ()


@admin.register(Failure)
class FailureAdmin(TaskWordsMixin, q_admin.FailAdmin, ModelAdmin):
    actions = [resubmit_task]
    list_filter = ()


class RunNowForm(NamedConfirmForm):
    target_label = "Tarea"

    def describe(self, object_id: Any) -> str:
        schedule = Schedule.objects.filter(pk=object_id).first() if str(object_id or "").isdigit() else None
        if schedule is None:
            return "—"
        return f"{task_label(schedule.func, schedule.name)} ({interval_text(schedule.schedule_type, schedule.minutes)})"


@admin.register(Schedule)
class ScheduleAdmin(q_admin.ScheduleAdmin, ModelAdmin):
    """Each job with its last run, that run's result and its next run; operators may run one now."""

    list_display = ("what", "every", "last_run_at", "last_result", "next_run_at")
    list_display_links = ("what",)
    actions_row = ["run_now"]
    actions_detail = ["run_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        last = Task.objects.filter(id=OuterRef("task"))
        return (
            super()
            .get_queryset(request)
            .annotate(task_stopped=Subquery(last.values("stopped")), task_started=Subquery(last.values("started")))
        )

    def has_run_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(SCHEDULE_RUN_NOW.permission)

    @display(description="tarea", ordering="name")
    def what(self, obj: Schedule) -> str:
        return task_label(obj.func, obj.name)

    @display(description="frecuencia")
    def every(self, obj: Schedule) -> str:
        return interval_text(obj.schedule_type, obj.minutes)

    @display(description="última ejecución", ordering="task_stopped")
    def last_run_at(self, obj: Schedule) -> str:
        stopped = getattr(obj, "task_stopped", None)
        return format_staff_time(stopped)

    @display(description="resultado")
    def last_result(self, obj: Schedule) -> str:
        if obj.task_name is None:
            return "—"
        if obj.task_success:
            url = reverse("admin:django_q_success_change", args=(obj.task_id,))
            task = Task.objects.filter(id=obj.task_id).only("result", "func").first()
            result = result_text(obj.func, task.result) if task is not None else ""
            return format_html('<a class="text-primary-600" href="{}">Correcta</a>: {}', url, result)
        url = reverse("admin:django_q_failure_change", args=(obj.task_id,))
        return format_html('<a class="text-red-600" href="{}">Fallida</a>', url)

    @display(description="próxima ejecución", ordering="next_run")
    def next_run_at(self, obj: Schedule) -> str:
        return format_staff_time(obj.next_run)

    @action(
        description=SCHEDULE_RUN_NOW.label,
        icon=SCHEDULE_RUN_NOW.icon,
        permissions=["run"],
        url_path="run-now",
        dialog={
            "title": SCHEDULE_RUN_NOW.label,
            "description": SCHEDULE_RUN_NOW.confirmation,
            "form_class": RunNowForm,
            "form_submit_text": SCHEDULE_RUN_NOW.submit,
        },
    )
    def run_now(self, request: HttpRequest, form: RunNowForm, object_id: str) -> HttpResponse:
        schedule = Schedule.objects.get(pk=object_id)
        services.schedule_run_now(schedule=schedule, by=request.user)
        audit_request(request, action=SCHEDULE_RUN_NOW.audit_code, target=schedule, count=1)
        done_text = SCHEDULE_RUN_NOW.done_message(1, name=task_label(schedule.func, schedule.name))
        self.message_user(request, done_text, messages.SUCCESS)
        return done(request, reverse("admin:django_q_schedule_changelist"))


if Conf.ORM or Conf.TESTING:

    @admin.register(OrmQ)
    class QueueAdmin(q_admin.QueueAdmin, ModelAdmin):
        pass
