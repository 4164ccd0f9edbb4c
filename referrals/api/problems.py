"""Errors as application/problem+json (RFC 9457), with stable types.

Every API error goes through `problem_exception_handler`; the `type` is a stable URI reference a
client can switch on, documented at /api/docs/.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler

from referrals.api.parsers import RequestTooLarge
from referrals.core.errors import ApplicationError

PROBLEM_BASE = "/api/problems/"

# HTTP status -> (type slug, title) for errors that carry no domain code.
_BY_STATUS = {
    400: ("validation", "Your request is not valid."),
    401: ("unauthenticated", "Authentication is required."),
    403: ("forbidden", "You are not allowed to do that."),
    404: ("not-found", "Not found."),
    405: ("method-not-allowed", "Method not allowed."),
    406: ("not-acceptable", "Not acceptable."),
    409: ("conflict", "The request conflicts with the record's current state."),
    413: ("too-large", "The request body is too large."),
    415: ("unsupported-media-type", "Unsupported media type."),
    422: ("idempotency-key-reused", "The Idempotency-Key was used with a different request."),
    429: ("throttled", "Too many requests."),
}

# Domain error codes (ApplicationError.code) -> HTTP status.
_DOMAIN_STATUS = {
    "state": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
    "permission_denied": status.HTTP_403_FORBIDDEN,
    "idempotency_key_reused": status.HTTP_422_UNPROCESSABLE_ENTITY,
    "not_shared": status.HTTP_409_CONFLICT,
    "not_found": status.HTTP_404_NOT_FOUND,
}


class ProblemJSONRenderer(JSONRenderer):
    media_type = "application/problem+json"


def problem(
    status_code: int, detail: str, *, slug: str | None = None, **extra: Any
) -> dict[str, Any]:
    default_slug, title = _BY_STATUS.get(status_code, ("error", "Error."))
    return {
        "type": PROBLEM_BASE + (slug or default_slug),
        "title": title,
        "status": status_code,
        "detail": detail,
        **extra,
    }


def _field_errors(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {str(k): _field_errors(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [
            str(item) if not isinstance(item, dict | list) else _field_errors(item)
            for item in detail
        ]
    return detail


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response: Response | None
    if isinstance(exc, ApplicationError):
        code = _DOMAIN_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST)
        response = Response(problem(code, exc.message, slug=exc.code.replace("_", "-")), code)
    elif isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        response = Response(
            problem(400, "Some fields are not valid.", errors=errors), status.HTTP_400_BAD_REQUEST
        )
    else:
        if isinstance(exc, RequestDataTooBig):
            exc = RequestTooLarge()
        elif isinstance(exc, SuspiciousOperation):
            exc = exceptions.ParseError("The request is not valid.")
        elif isinstance(exc, Http404):
            exc = exceptions.NotFound()
        elif isinstance(exc, PermissionDenied):
            exc = exceptions.PermissionDenied()
        response = exception_handler(exc, context)
        if response is None:
            return None
        if isinstance(exc, exceptions.ValidationError):
            response.data = problem(
                400, "Some fields are not valid.", errors=_field_errors(exc.detail)
            )
        else:
            detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
            response.data = problem(response.status_code, str(detail))
    request = context.get("request")
    if request is not None:
        response.data["instance"] = request.path
    response.content_type = ProblemJSONRenderer.media_type
    return response


# Django's own error pages, for what never reaches a DRF view (an address no URL pattern
# matches, a body refused before parsing): under /api/ a problem, everywhere else the page.


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _problem_response(request: HttpRequest, status_code: int, detail: str) -> JsonResponse:
    body = problem(status_code, detail) | {"instance": request.path}
    return JsonResponse(body, status=status_code, content_type=ProblemJSONRenderer.media_type)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _problem_response(request, 400, "The request is not valid.")
    return defaults.bad_request(request, exception)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _problem_response(request, 404, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _problem_response(request, 500, "Something went wrong on our side.")
    return defaults.server_error(request)
