"""Sign-in with a second factor: enrol an authenticator app (and get recovery codes), then a
code at every sign-in. Lockout after repeated failures, and the idle-session keep-alive."""

from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.forms import SignInForm, TokenForm
from agencies.services import (
    mfa_device_confirm,
    mfa_device_get_or_create_unconfirmed,
    mfa_recovery_codes_create,
    mfa_token_verify,
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
