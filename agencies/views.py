"""Sign-in with a second factor: enrol an authenticator app (and get recovery codes), then a
code at every sign-in. Lockout after repeated failures, and the idle-session keep-alive."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.forms import EmailChangeForm, ReauthenticateForm, SignInForm, TokenForm
from agencies.selectors import (
    admin_agency_ids,
    agency_user_get_for_admin,
    agency_users_for_admin,
    user_session_get_for_user,
    user_sessions_for_user,
)
from agencies.services import (
    USER_SESSION_KEY,
    mfa_device_confirm,
    mfa_device_get_or_create_unconfirmed,
    mfa_recovery_codes_create,
    mfa_reset,
    mfa_token_verify,
    reauthenticate,
    user_email_change,
    user_session_end,
)
from safeguarding.http import AuthenticatedHttpRequest

RECOVERY_CODES_SESSION_KEY = "mfa_recovery_codes"


def _next_url(request: HttpRequest) -> str:
    candidate = request.GET.get("next", "") or request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return "/"


@login_required
def mfa_verify(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("mfa-enrol")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa_token_verify(user=request.user, token=form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            # A new session key for the more trusted session (SessionEndedMiddleware follows it).
            request.session.cycle_key()
            return redirect(_next_url(request))
        form.add_error("token", "The code is not right. Enter the code your app shows now.")
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _next_url(request)})


@login_required
def mfa_enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("mfa-verify")
    device = mfa_device_get_or_create_unconfirmed(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if mfa_device_confirm(user=request.user, device=device, token=form.cleaned_data["token"]):
            otp_login(request, device)
            request.session.cycle_key()
            request.session[RECOVERY_CODES_SESSION_KEY] = mfa_recovery_codes_create(
                user=request.user
            )
            return redirect("mfa-recovery-codes")
        form.add_error("token", "The code is not right. Enter the code your app shows now.")
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    qr_data_uri = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "accounts/mfa_enrol.html",
        {"form": form, "qr_data_uri": qr_data_uri, "secret": secret},
    )


@login_required
def mfa_recovery_codes(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The recovery codes, shown once, straight after enrolment."""
    codes = request.session.pop(RECOVERY_CODES_SESSION_KEY, None)
    if not codes:
        return redirect("home")
    response = render(request, "accounts/mfa_recovery_codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def session_keep_alive(request: AuthenticatedHttpRequest) -> HttpResponse:
    """'Stay signed in': the request itself resets the idle clock (SessionTimeoutMiddleware)."""
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"idle_seconds": settings.SESSION_IDLE_SECONDS})
    return redirect(_next_url(request))


def sign_in_locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' lockout, shown as an error on the sign-in form rather than a bare page."""
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    form = SignInForm(request, initial={"username": request.POST.get("username", "")})
    return render(
        request,
        "registration/login.html",
        {
            "form": form,
            "locked_out": (
                f"You have tried to sign in too many times. Wait {minutes} minutes, then try "
                "again. If you cannot remember your password, ask your agency administrator."
            ),
            "next": request.POST.get("next", ""),
        },
        status=429,
    )


# Changing how a person signs in needs their password and a code again, this recently.
REAUTHENTICATED_KEY = "reauthenticated_at"
REAUTHENTICATION_SECONDS = 5 * 60


def reauthentication_required(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Send the person to confirm their password and code first, then back here."""

    @wraps(view)
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        confirmed_at = float(request.session.get(REAUTHENTICATED_KEY, 0))
        if time.time() - confirmed_at > REAUTHENTICATION_SECONDS:
            target = reverse("reauthenticate")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.path})
            return redirect(target)
        return view(request, *args, **kwargs)

    return wrapped


@login_required
def account_security(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The person's sign-in details and their open sessions, each of which they may end."""
    sessions = user_sessions_for_user(user=request.user).filter(user=request.user)
    return render(
        request,
        "accounts/security.html",
        {
            "sessions": sessions,
            "current_session_id": request.session.get(USER_SESSION_KEY),
            "is_agency_admin": bool(admin_agency_ids(user=request.user)),
        },
    )


@login_required
def reauthenticate_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ReauthenticateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if reauthenticate(
            request=request,
            user=request.user,
            password=form.cleaned_data["password"],
            token=form.cleaned_data["token"],
        ):
            request.session[REAUTHENTICATED_KEY] = time.time()
            return redirect(_next_url(request) if _next_url(request) != "/" else "account-security")
        form.add_error(None, "The password or the code is not right. Try again.")
    return render(
        request, "accounts/reauthenticate.html", {"form": form, "next": _next_url(request)}
    )


@login_required
@reauthentication_required
def email_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_email_change(user=request.user, email=form.cleaned_data["email"])
        messages.success(request, "Your email address is changed. Sign in with it from now on.")
        return redirect("account-security")
    return render(request, "accounts/email_change.html", {"form": form})


@login_required
@require_POST
@reauthentication_required
def mfa_replace(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Remove the person's authenticator and recovery codes; they enrol a new one now."""
    mfa_reset(user=request.user, by=request.user)
    request.sign_out_reason = "mfa_reset"  # type: ignore[attr-defined]
    logout(request)
    messages.info(request, "Your authenticator is removed. Sign in again to set up a new one.")
    return redirect("login")


@login_required
@require_POST
@reauthentication_required
def recovery_codes_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """New recovery codes (the old ones stop working), shown once."""
    request.session[RECOVERY_CODES_SESSION_KEY] = mfa_recovery_codes_create(user=request.user)
    return redirect("mfa-recovery-codes")


@login_required
@require_POST
def session_end(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """End one of the person's sessions, or (agency admins) one of their agency's users'."""
    session = user_session_get_for_user(user=request.user, pk=pk)
    user_session_end(session=session, by=request.user, reason="ended_by_user")
    if session.pk == request.session.get(USER_SESSION_KEY):
        request.sign_out_reason = "session_ended"  # type: ignore[attr-defined]
        logout(request)
        return redirect("login")
    messages.success(request, "The session is ended.")
    if session.user_id == request.user.pk:
        return redirect("account-security")
    return redirect("agency-users")


@login_required
def agency_users(request: AuthenticatedHttpRequest) -> HttpResponse:
    """For agency admins: their agencies' people, their open sessions and second factors."""
    if not admin_agency_ids(user=request.user):
        raise PermissionDenied
    people = list(agency_users_for_admin(user=request.user))
    sessions = user_sessions_for_user(user=request.user).exclude(user=request.user)
    by_user: dict[int, list[Any]] = {}
    for session in sessions:
        by_user.setdefault(session.user_id, []).append(session)
    rows = [(person, by_user.get(person.pk, [])) for person in people]
    return render(request, "accounts/agency_users.html", {"rows": rows})


@login_required
@require_POST
def user_mfa_reset(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An agency admin resets a person's second factor (lost phone); audited."""
    if not admin_agency_ids(user=request.user):
        raise PermissionDenied
    person = agency_user_get_for_admin(user=request.user, pk=pk)
    mfa_reset(user=person, by=request.user)
    messages.success(
        request, "Their authenticator is removed. They set up a new one when they next sign in."
    )
    return redirect("agency-users")
