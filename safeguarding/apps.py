"""Django's admin app, with the service's own admin site as the default one."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class SafeguardingAdminConfig(AdminConfig):
    default_site = "safeguarding.admin.SafeguardingAdminSite"
