from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Children, concerns and referrals"

    def ready(self) -> None:
        from referrals.permissions import roles_sync

        post_migrate.connect(roles_sync, sender=self, dispatch_uid="referrals.roles_sync")
