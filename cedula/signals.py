"""A registered person's cedula enters the lookup queue once the user row is committed."""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.signals import pre_execute

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
# An exception that escapes a task reaches Sentry once per task function (no-op without SENTRY_DSN).
connect_task_reporting()
