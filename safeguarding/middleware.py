"""Request id and address for the audit trail, and MFA enforcement outside demo mode."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from safeguarding import request_context

_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_context.bind(
            request_context.RequestContext(
                request_id=request_id, ip_address=request.META.get("REMOTE_ADDR")
            )
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.unbind(token)
        response["X-Request-ID"] = request_id
        return response


# Paths a signed-in person may reach before their second factor is checked.
_MFA_EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/o/")


class MFARequiredMiddleware:
    """Outside demo mode, a signed-in person must have passed a second factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            settings.REQUIRE_MFA
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(_MFA_EXEMPT_PREFIXES)
        ):
            return redirect("mfa-verify")
        return self.get_response(request)
