"""Audit records written from signals: console forms (admin LogEntry), staff logins and logouts, lockouts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from cedula.request_audit import audit_request
from cedula.services.audit import audit_record, logentry_audit_suppressed
from ops.accounts.security import login_username

PERMISSION_FIELDS = {"groups", "user_permissions", "is_superuser", "is_staff", "permissions"}
_FLAG_ACTIONS = {ADDITION: "object.add", CHANGE: "object.change", DELETION: "object.delete"}


def _changed_fields(change_message: str) -> list[str]:
    try:
        parts = json.loads(change_message or "[]")
    except ValueError:
        return []
    fields: list[str] = []
    for part in parts if isinstance(parts, list) else []:
        fields.extend(part.get("changed", {}).get("fields", []))
    return fields


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_logentry")
def audit_admin_form(sender: type[LogEntry], instance: LogEntry, created: bool, **kwargs: Any) -> None:
    # Every add, change and single delete through a console form writes a LogEntry; bulk deletes are audited by the
    # site-wide delete action (ops.accounts.admin_security), which suppresses this to keep one record per action.
    if not created or logentry_audit_suppressed():
        return
    action = _FLAG_ACTIONS.get(instance.action_flag, "object.change")
    fields = _changed_fields(instance.change_message)
    object_id = instance.object_id or ""
    model = instance.content_type.model_class() if instance.content_type is not None else None
    label = model._meta.label_lower if model is not None else ""
    if action == "object.change" and (label == "auth.group" or {f.lower() for f in fields} & PERMISSION_FIELDS):
        action = "permissions.change"
    elif action != "object.delete" and label == "auth.group":
        action = "permissions.change"
    audit_record(
        action=action,
        target=instance.object_repr,
        count=1,
        actor=instance.user,
        details={"model": label, "object_id": object_id, "fields": fields},
        cedula_ids=[int(object_id)] if label == "cedula.cedulainfo" and object_id.isdigit() else None,
        target_type=label,
        target_id=object_id,
    )


@receiver(user_logged_in, dispatch_uid="audit_staff_login")
def staff_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if not user.is_staff:
        return
    if request is not None and hasattr(request, "session"):
        # An absolute limit: activity does not extend a staff session past STAFF_SESSION_HOURS.
        request.session.set_expiry(timezone.now() + dt.timedelta(hours=settings.STAFF_SESSION_HOURS))
    audit_request(request, action="auth.login", target=user, actor=user)


@receiver(user_logged_out, dispatch_uid="audit_staff_logout")
def staff_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and user.is_staff:
        audit_request(request, action="auth.logout", target=user, actor=user)


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def login_locked_out(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str | None, **kw: Any
) -> None:
    # The name as typed, whether or not such an account exists: the record says what was tried, not who exists.
    # django-axes signals again on each refused try while locked: one record per lockout is enough.
    tried = login_username(request, {"username": username}) or ""
    since = timezone.now() - dt.timedelta(minutes=settings.LOGIN_LOCKOUT_MIN)
    from cedula.models import AuditRecord
    from ops.accounts.security import client_ip

    ip = client_ip(request) if request is not None else None
    if AuditRecord.objects.filter(action="auth.lockout", at__gte=since, target_repr=tried, ip=ip).exists():
        return
    audit_request(
        request,
        action="auth.lockout",
        target=tried,
        outcome="denied",
        actor=None,
        details={"ip": ip_address or ""},
    )
