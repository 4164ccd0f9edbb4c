"""Values every page template needs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def service(request: HttpRequest) -> dict[str, object]:
    idle = settings.SESSION_IDLE_SECONDS
    return {
        "service_name": "Safeguarding referrals",
        "demo_mode": settings.DEMO_MODE,
        # The phase banner's feedback link, on every page (signed in or not).
        "feedback_url": settings.FEEDBACK_URL,
        # The page's script warns this many seconds before an idle session ends.
        "session_idle_seconds": idle,
        "session_warning_seconds": min(120, idle // 4),
        "session_idle_minutes": idle // 60,
    }
