"""The public site: registration, login, and a person's own cedula (home, profile, /estado.json, refresh).

Every page about a cedula reads `request.user`'s own row and nothing else: no view takes a cedula or a row id.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

import structlog
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from cedula.services import history
from ops.accounts import presenters, selectors, services
from ops.accounts.forms import AccountDeleteForm, LoginForm, ProfileForm, RegistrationForm
from ops.accounts.models import User
from ops.accounts.security import client_ip, staff_session_unverified

logger = structlog.get_logger(__name__)


def _person(request: HttpRequest) -> User:
    """The logged-in person: only called behind @login_required, so never the anonymous user."""
    return cast(User, request.user)


def _status_context(request: HttpRequest) -> dict[str, Any]:
    now = timezone.now()
    status = selectors.public_status_for_user(user=_person(request), now=now)
    return {"info": status.info, "card": presenters.status_payload(status, now=now)}


@never_cache
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("accounts:home")
    if request.method == "POST":
        throttle = services.registration_attempt(ip=client_ip(request) or "")
        if not throttle.allowed:
            when = presenters.format_moment(throttle.retry_at, now=timezone.now()) if throttle.retry_at else "más tarde"
            refusal = (
                f"Hubo demasiados intentos de registro desde esta conexión. Intenta de nuevo {when} (hora de Colombia)."
            )
            form = RegistrationForm(initial={"email": request.POST.get("email", "")})
            return render(request, "accounts/register.html", {"form": form, "refusal": refusal}, status=429)
    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The user's post_save signal queues the lookup once this commits.
        with transaction.atomic():
            user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        logger.info("user_registered", user_id=user.pk)
        # "until-result": the status script removes it once the answer arrives (it would contradict the card).
        messages.success(request, "Cuenta creada. Estamos verificando tu cédula.", extra_tags="until-result")
        return redirect("accounts:home")
    return render(request, "accounts/register.html", {"form": form})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@never_cache
@login_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_staff and not request.user.cedula:
        # Staff without a cedula of their own come here after logging in (Unfold's login form posts no `next`):
        # their place is the console.
        return redirect("admin:index")
    # Read before this visit is remembered: a change of voting place since the person's previous visit.
    place_change = history.cedula_owner_visit(user=_person(request))
    return render(request, "accounts/home.html", {**_status_context(request), "place_change": place_change})


def _staff_refusal(request: HttpRequest, *, what: str) -> HttpResponse:
    """A console account is changed or deleted from the public site only by a session past its second factor."""
    from django.urls import reverse

    verify = reverse("two_factor_verify") + "?next=" + request.path
    context = {"what": what, "verify_url": verify, "can_verify": request.user.is_verified()}  # type: ignore[union-attr]
    logger.info("staff_public_change_refused", user_id=request.user.pk, what=what)
    return render(request, "accounts/staff_refused.html", context, status=403)


@never_cache
@login_required
def profile(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and staff_session_unverified(request):
        return _staff_refusal(request, what="cambiar")
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Tus datos quedaron guardados.")
        return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {**_status_context(request), "form": form})


@never_cache
@login_required
def account_delete_view(request: HttpRequest) -> HttpResponse:
    if staff_session_unverified(request):
        return _staff_refusal(request, what="eliminar")
    form = AccountDeleteForm(request.POST or None, user=_person(request))
    if request.method == "POST" and form.is_valid():
        user = _person(request)
        logout(request)
        services.account_delete(user=user, ip=client_ip(request))
        messages.success(request, "Tu cuenta fue eliminada.")
        return redirect("accounts:login")
    return render(request, "accounts/account_delete.html", {"form": form})


def json_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Like login_required, but a script gets a JSON 401 instead of a redirect to an HTML login page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"error": "authentication_required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapped


@never_cache
@require_GET
@json_login_required
def status_json(request: HttpRequest) -> JsonResponse:
    # Query parameters are ignored on purpose: the answer is always about the requesting user.
    return JsonResponse(_status_context(request)["card"])


@require_POST
@login_required
def refresh(request: HttpRequest) -> HttpResponse:
    decision = services.cedula_user_refresh(user=_person(request))
    if decision.accepted:
        messages.success(request, "Pedimos una nueva verificación de tu cédula. Verás el resultado en esta página.")
    else:
        messages.warning(
            request,
            presenters.refusal_message(
                reason=decision.reason, next_allowed_at=decision.next_allowed_at, now=timezone.now()
            ),
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = "accounts:home"
    return redirect(target)
