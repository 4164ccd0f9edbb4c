"""Request types for views that only signed-in people reach."""

from __future__ import annotations

from django.http import HttpRequest

from agencies.models import User


class AuthenticatedHttpRequest(HttpRequest):
    user: User
