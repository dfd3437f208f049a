"""Malformed input is the client's mistake, not a server error: a 400 page in Spanish instead of a 500.

A query string or a form can carry anything: "?user=abc", an id of 25 digits (SQLite cannot bind it, PostgreSQL
says "out of range"), "_selected_action=abc". Django coerces such values lazily, deep inside a filter, a paginator
or an action's queryset, long after any view could validate them. This middleware turns exactly those coercion
failures (and nothing else: a bug of ours stays a 500, reported) into a 400 with a clear message, and logs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import structlog
from django.core.exceptions import ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = structlog.get_logger(__name__)

# Django's own messages when a text meets a numeric or date field, and int()'s.
_COERCION = re.compile(
    r"^(Field '.+' expected a number but got|invalid literal for int\(\) with base 10|"
    r"Python int too large|“.*” value has an invalid|'.*' value has an invalid)"
)


def is_bad_input(exc: BaseException) -> bool:
    if isinstance(exc, OverflowError | ValidationError):
        return True
    if isinstance(exc, DataError):  # PostgreSQL: integer out of range, invalid input syntax
        return True
    return isinstance(exc, ValueError) and bool(_COERCION.match(str(exc)))


class BadInputMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_bad_input(exception):
            return None
        logger.warning(
            "bad_input_refused",
            path=request.path,
            method=request.method,
            error=type(exception).__name__,
            params=sorted(request.GET)[:20],
        )
        message = "La dirección o el formulario traen un valor que no es válido (un número o una fecha mal escritos)."
        return render(request, "400.html", {"message": message}, status=400)
