"""Signal wiring: a registered person's cedula enters the queue once the user row is committed; Django-Q2 worker
processes bind their task context and, when (re)spawned, pick up what a dead predecessor held."""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.signals import post_spawn, pre_execute

from cedula import services
from ops.sentry import connect_task_reporting


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="cedula_user_registered")
def user_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if not instance.cedula or kwargs.get("raw"):
        return
    if created or not services.user_cedula_is_linked(user=instance):
        services.cedula_register_for_user(user=instance)


def _bind_task(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    # Worker processes run one task at a time: the context of the previous task is dropped here.
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task.get("id", ""), task_name=task.get("name", ""))


pre_execute.connect(_bind_task, dispatch_uid="cedula_bind_task_context")


def _worker_spawned(sender: Any, proc_name: str, **kwargs: Any) -> None:
    # A worker is spawned at start-up and again after one dies (SIGKILL, OOM). The dead one's claim and ticket are
    # reaped now and the queue topped up, instead of waiting for the scheduled dispatch or the broker's redelivery
    # (which the Redis broker never does). A database that is not ready must not keep the worker from starting.
    try:
        services.lookups_dispatch()
    except DatabaseError as exc:
        structlog.get_logger(__name__).warning("worker_spawn_dispatch_failed", proc_name=proc_name, reason=str(exc))


post_spawn.connect(_worker_spawned, dispatch_uid="cedula_worker_spawned")
# An exception that escapes a task reaches Sentry once per task function (no-op without SENTRY_DSN).
connect_task_reporting()
