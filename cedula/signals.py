"""Signal wiring: a registered person's cedula enters the queue once the user row is committed; Django-Q2 worker
processes bind their task context and, when (re)spawned, pick up what a dead predecessor held."""

from __future__ import annotations

import multiprocessing
from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.conf import Conf
from django_q.signals import post_spawn, pre_execute

from cedula import crons, services
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


def _unwedge_task_queue(proc_name: str) -> None:
    """Free the task queue's read lock when a dead predecessor took it to the grave.

    An idle Django-Q2 worker waits in `task_queue.get()` holding the queue's read lock; killed there (SIGKILL, OOM),
    the lock stays taken and its successor waits on it forever: the cluster looks alive and runs nothing
    (django-q2/django-q2#23). With one worker per cluster, as here, no other process reads the task queue, so a lock
    held when a worker starts can only be the dead one's. With several workers a live sibling may hold it
    legitimately, so nothing is touched.
    """
    if Conf.WORKERS != 1:
        return
    args = getattr(multiprocessing.current_process(), "_args", ())
    rlock = getattr(args[0], "_rlock", None) if args else None
    if rlock is None:
        return
    if not rlock.acquire(block=False):
        structlog.get_logger(__name__).warning("worker_task_queue_unwedged", proc_name=proc_name)
    rlock.release()


def _worker_spawned(sender: Any, proc_name: str, **kwargs: Any) -> None:
    # A worker is spawned at start-up and again after one dies (SIGKILL, OOM). The dead one's claim and ticket are
    # reaped now and the queue topped up, instead of waiting for the scheduled dispatch or the broker's redelivery
    # (which the Redis broker never does). A database that is not ready must not keep the worker from starting.
    _unwedge_task_queue(proc_name)
    try:
        services.lookups_dispatch()
    except DatabaseError as exc:
        structlog.get_logger(__name__).warning("worker_spawn_dispatch_failed", proc_name=proc_name, reason=str(exc))


post_spawn.connect(_worker_spawned, dispatch_uid="cedula_worker_spawned")
# An exception that escapes a task reaches Sentry once per task function (no-op without SENTRY_DSN).
connect_task_reporting()
# Every scheduled task checks in to its Sentry cron monitor (no-op without SENTRY_DSN).
crons.connect()
