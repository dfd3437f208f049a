"""The project's URLs plus one view that fails, to see the 500 page a person gets."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from ops.urls import urlpatterns as project_urls


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug of ours")


urlpatterns = [path("boom/", boom), *project_urls]
