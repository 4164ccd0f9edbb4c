"""The pages every public service has: the accessibility statement, the privacy notice, cookies,
and help and contact. Open to everyone, signed in or not, and about nobody: the only data they
read is each local authority's name and public phone numbers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TypedDict

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agencies.models import LocalAuthority

# When the accessibility statement was written, and when the service was last checked against
# it (the checks themselves run with every change: tests/browser).
STATEMENT_PREPARED = datetime.date(2026, 11, 29)


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    expires: str


def _duration(seconds: int) -> str:
    """A cookie's lifetime in words: '1 year', '12 hours', '30 minutes'."""
    day = 24 * 60 * 60
    if seconds >= 364 * day:
        years = round(seconds / (365 * day))
        return "1 year" if years == 1 else f"{years} years"
    if seconds >= 2 * day:
        return f"{seconds // day} days"
    if seconds >= 2 * 60 * 60:
        return f"{seconds // 3600} hours"
    return f"{seconds // 60} minutes"


def service_cookies() -> list[Cookie]:
    """Every cookie the service sets, named as the settings name them: all strictly necessary."""
    idle = _duration(settings.SESSION_IDLE_SECONDS)
    cookies = [
        Cookie(
            name=settings.SESSION_COOKIE_NAME,
            purpose=(
                "Keeps you signed in as you move from page to page, and remembers that you "
                "entered your security code."
            ),
            expires=(
                f"{_duration(settings.SESSION_COOKIE_AGE)}, or when you sign out. You are "
                f"signed out after {idle} without using the service."
            ),
        ),
    ]
    if not settings.CSRF_USE_SESSIONS:
        cookies.append(
            Cookie(
                name=settings.CSRF_COOKIE_NAME,
                purpose=(
                    "Makes sure a form sent to the service came from one of its own pages, "
                    "not from another website (protection against cross-site request forgery)."
                ),
                expires=_duration(settings.CSRF_COOKIE_AGE),
            )
        )
    if settings.MESSAGE_STORAGE.endswith(("FallbackStorage", "CookieStorage")):
        cookies.append(
            Cookie(
                name=CookieStorage.cookie_name,
                purpose=(
                    "Carries a short message to the next page you see, such as why you were "
                    "signed out or that something was saved."
                ),
                expires="As soon as the message is shown, or when you close your browser.",
            )
        )
    return cookies


class AuthorityPhones(TypedDict):
    name: str
    front_door_phone: str
    out_of_hours_phone: str


def authority_phones() -> QuerySet[LocalAuthority, AuthorityPhones]:
    """Each local authority's name and public phone numbers, and nothing else about it."""
    return (
        LocalAuthority.objects.exclude(front_door_phone="", out_of_hours_phone="")
        .order_by("name")
        .values("name", "front_door_phone", "out_of_hours_phone")
    )


@require_GET
def accessibility_statement(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pages/accessibility.html",
        {"prepared": STATEMENT_PREPARED, "contact_email": settings.SERVICE_CONTACT_EMAIL},
    )


@require_GET
def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/privacy.html", {"contact_email": settings.SERVICE_CONTACT_EMAIL})


@require_GET
def cookies(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/cookies.html", {"cookies": service_cookies()})


@require_GET
def help_and_contact(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "pages/help.html",
        {
            "authorities": authority_phones(),
            "contact_email": settings.SERVICE_CONTACT_EMAIL,
            "lockout_minutes": round(float(settings.AXES_COOLOFF_TIME) * 60),
        },
    )
