"""Values every page template needs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def service(request: HttpRequest) -> dict[str, object]:
    return {"service_name": "Safeguarding referrals", "demo_mode": settings.DEMO_MODE}
