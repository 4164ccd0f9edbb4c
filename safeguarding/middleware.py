"""Request id and address for the audit trail, MFA enforcement outside demo mode, the idle
and absolute session timeouts, sessions ended elsewhere, refusals in the audit trail, and
`Cache-Control: no-store` on everything a signed-in person is sent."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from agencies.models import UserSession
from agencies.services import USER_SESSION_KEY
from referrals.audit import audit_denied
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


# Paths a signed-in person may reach before their second factor is checked. Everything else
# under /accounts/ (their sessions, email, authenticator) needs a verified session.
_MFA_EXEMPT_PREFIXES = (
    "/accounts/login/",
    "/accounts/logout/",
    "/accounts/mfa/",
    "/accounts/session/keep-alive/",
    "/static/",
    "/healthz",
    "/o/",
    # The pages every public service has: help is most needed halfway through signing in.
    "/accessibility/",
    "/privacy/",
    "/cookies/",
    "/help/",
)


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
            target = reverse("mfa-verify")
            if request.method == "GET" and request.path != "/":
                # Back to the page they asked for (ids only in our URLs, never personal data).
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        return self.get_response(request)


SESSION_STARTED_KEY = "session_started_at"
SESSION_ACTIVITY_KEY = "session_activity_at"
# The last-activity time is written at most this often, so most requests do not save the
# session; the idle timeout is exact to within this many seconds.
_ACTIVITY_RESOLUTION_SECONDS = 10
_TIMEOUT_EXEMPT_PREFIXES = ("/static/", "/healthz")


class SessionTimeoutMiddleware:
    """Sign a person out after SESSION_IDLE_SECONDS without a request, and SESSION_COOKIE_AGE
    after they signed in whatever they do (the cookie's own expiry moves with every save)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or request.path.startswith(_TIMEOUT_EXEMPT_PREFIXES)
        ):
            return self.get_response(request)
        session = request.session
        now = time.time()
        started = session.setdefault(SESSION_STARTED_KEY, now)
        last = session.get(SESSION_ACTIVITY_KEY, now)
        if now - last > settings.SESSION_IDLE_SECONDS:
            return self._sign_out(request, "idle")
        if now - started > settings.SESSION_COOKIE_AGE:
            return self._sign_out(request, "absolute")
        # A page re-reading itself on a timer (the triage queue) is not the person doing
        # anything: it must not keep an unattended session alive.
        background = request.headers.get("X-Background-Refresh") == "1"
        if not background and (
            SESSION_ACTIVITY_KEY not in session or now - last >= _ACTIVITY_RESOLUTION_SECONDS
        ):
            session[SESSION_ACTIVITY_KEY] = now
        return self.get_response(request)

    def _sign_out(self, request: HttpRequest, reason: str) -> HttpResponse:
        request.sign_out_reason = reason  # type: ignore[attr-defined]
        logout(request)
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse({"signed_out": True}, status=401)
        if reason == "idle":
            minutes = settings.SESSION_IDLE_SECONDS // 60
            text = (
                f"You were signed out because you did nothing for {minutes} minutes. "
                "Anything you were typing was saved as a draft."
            )
        else:
            hours = settings.SESSION_COOKIE_AGE // 3600
            text = f"You were signed out because you signed in more than {hours} hours ago."
        messages.info(request, text + " Sign in again to carry on.")
        next_path = request.get_full_path() if request.method == "GET" else request.path
        return redirect(reverse("login") + "?" + urlencode({"next": next_path}))


def _signed_out_response(request: HttpRequest, text: str) -> HttpResponse:
    if request.headers.get("X-Requested-With") == "fetch" or request.path.startswith("/api/"):
        return JsonResponse({"signed_out": True}, status=401)
    messages.info(request, text + " Sign in again to carry on.")
    next_path = request.get_full_path() if request.method == "GET" else request.path
    return redirect(reverse("login") + "?" + urlencode({"next": next_path}))


class SessionEndedMiddleware:
    """Sign out a request whose session was ended elsewhere (by the person, their agency's
    admin, a second-factor reset or deactivation), or was never recorded at sign-in."""

    # last_seen_at is written at most this often.
    SEEN_RESOLUTION_SECONDS = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith("/static/"):
            return self.get_response(request)
        session_id = request.session.get(USER_SESSION_KEY)
        row = (
            UserSession.objects.filter(pk=int(session_id or 0), user=user, ended_at__isnull=True)
            .values_list("pk", "session_key", "last_seen_at")
            .first()
        )
        if row is None:
            request.sign_out_reason = "session_ended"  # type: ignore[attr-defined]
            logout(request)
            return _signed_out_response(request, "This session was ended.")
        pk, key, seen = row
        now = timezone.now()
        if key != request.session.session_key or (
            (now - seen).total_seconds() >= self.SEEN_RESOLUTION_SECONDS
        ):
            UserSession.objects.filter(pk=pk).update(
                session_key=request.session.session_key or key, last_seen_at=now
            )
        return self.get_response(request)


# URL names whose `pk` is a record of this type: a refusal there is recorded against it.
_DENIED_TARGETS = (
    ("api-child", "referrals.child"),
    ("api-referral", "referrals.referral"),
    ("referral-", "referrals.referral"),
    ("share-revoke", "referrals.referral"),
    ("concern-", "referrals.concern"),
    ("child-", "referrals.child"),
    ("attachment-", "referrals.attachment"),
)


class AuditDeniedMiddleware:
    """Every 403 a signed-in person (or agency system) is given lands in the audit trail.

    404s are audited by the selectors that decide them; a 403 comes from a permission check
    in a view, DRF or the CSRF check, so it is recorded here, once, for all of them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if response.status_code == 403 and user is not None and user.is_authenticated:
            match = request.resolver_match
            name = (match.view_name if match else "") or "unknown"
            kwargs = match.kwargs if match else {}
            record_id = kwargs.get("pk", kwargs.get("child_pk", ""))
            target_type = "url"
            for prefix, label in _DENIED_TARGETS:
                if name.startswith(prefix) and record_id != "":
                    target_type = label
                    break
            if "child_pk" in kwargs:
                target_type = "referrals.child"
            audit_denied(
                actor=user,
                target_type=target_type,
                target_id=record_id if target_type != "url" else name,
                data={"status": 403, "url": name},
            )
        return response


class NoStoreMiddleware:
    """Nothing sent to a signed-in person (pages, API answers, files) is kept by a browser or
    a proxy: it may show personal data about a child."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            patch_vary_headers(response, ("Cookie", "Authorization"))
        return response


# Powerful browser features the service never uses, switched off for every page it sends (and
# for anything a page might embed).
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)


class PermissionsPolicyMiddleware:
    """Every response says which browser features it may use: none of the powerful ones."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
