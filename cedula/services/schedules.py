"""The Django-Q2 schedules from the console: "Ejecutar ahora" runs a scheduled job once, at once, through the queue
(the worker runs it like any task; the schedule's own next run is left as it was)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import structlog
from django_q.models import Schedule
from django_q.tasks import async_task

if TYPE_CHECKING:
    from cedula.services.batches import Actor

logger = structlog.get_logger(__name__)


def _literal(text: str | None, empty: Any) -> Any:
    # Django-Q2 stores a schedule's args/kwargs as Python literals and reads them the same way.
    return ast.literal_eval(text) if text else empty


def schedule_run_now(*, schedule: Schedule, by: Actor) -> str:
    """Enqueue the schedule's function once with its arguments; returns the Django-Q2 task id."""
    args = _literal(schedule.args, ())
    kwargs = _literal(schedule.kwargs, {})
    if not isinstance(args, tuple):
        args = (args,)
    task_id = async_task(
        schedule.func, *args, **kwargs, task_name=f"{schedule.name or schedule.func}-ahora", group="ejecutar-ahora"
    )
    logger.info(
        "schedule_run_now",
        schedule=schedule.name,
        func=schedule.func,
        task_id=task_id,
        user_id=by.pk if by is not None and by.is_authenticated else None,
    )
    return str(task_id)
