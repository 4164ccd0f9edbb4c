from __future__ import annotations

from django.apps import AppConfig


class AgenciesConfig(AppConfig):
    name = "agencies"
    verbose_name = "Agencies and people"

    def ready(self) -> None:
        # Inside ready(): the receivers import models, not loaded when this config is imported.
        from agencies import signals  # noqa: F401 - connects the sign-in audit receivers
