"""The referrals app: one Django app (one label, one set of tables) of packages by job."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Children, concerns and referrals"

    def ready(self) -> None:
        # Inside ready(): the capabilities module imports models, which are not loaded when
        # Django imports this app config.
        from agencies.capabilities import roles_sync

        post_migrate.connect(roles_sync, sender=self, dispatch_uid="referrals.roles_sync")
