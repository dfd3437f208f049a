"""Request bodies are bounded before they are read.

Django caps form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) and spools a file part bigger than FILE_UPLOAD_MAX_MEMORY_SIZE
to disk in chunks, but nothing caps a file part: a 1 GB upload was written to disk whole before the import refused
it. The middleware refuses a declared Content-Length over UPLOAD_MAX_BODY_MB without reading a byte of the body (it
runs before CSRF, which reads the form); the upload handler stops reading a body whose length was not declared or
not honest (a chunked body behind a server that passes it on) once it passes the same cap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

logger = structlog.get_logger(__name__)

# Set on the request when the handler stopped reading: the view shows the reason instead of "this field is required".
REFUSED_ATTR = "upload_refused"


def body_cap_bytes() -> int:
    return int(settings.UPLOAD_MAX_BODY_MB * 2**20)


def refusal_message() -> str:
    return (
        f"El archivo es demasiado grande: el máximo es {settings.UPLOAD_MAX_BODY_MB} MB. Divídalo en partes y "
        "súbalo de nuevo."
    )


def declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class UploadBodyLimitMiddleware:
    """After the messages middleware (it leaves a message), before any view middleware reads the body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = declared_length(request)
        if length > body_cap_bytes():
            logger.info("upload_refused", path=request.path, content_length=length, limit=body_cap_bytes())
            messages.error(request, refusal_message())
            # Back to the same page by GET (the import form shows the message); the body is never read.
            response = HttpResponseRedirect(request.path)
            response.status_code = 303
            return response
        return self.get_response(request)


class BodyLimitUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts the file bytes of a request and stops the parser past the cap."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > body_cap_bytes():
            if self.request is not None:
                setattr(self.request, REFUSED_ATTR, refusal_message())
            logger.info("upload_refused", received=self.received, limit=body_cap_bytes())
            # connection_reset: the parser does not read the rest of the body to throw it away.
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> Any:
        return None  # the next handlers keep the file
