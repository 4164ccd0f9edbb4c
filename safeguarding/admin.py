"""The admin site: for agency administrators and superusers only, with a verified second
factor, and every change it makes also an audit event in the hash-chained trail."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from agencies.models import Membership, Role
from referrals.audit import audit_record_many
from referrals.models import AuditAction

_FLAGS = {ADDITION: "addition", CHANGE: "change", DELETION: "deletion"}


def _audit_admin(request: HttpRequest, objects: list[models.Model], flag: int) -> None:

    audit_record_many(
        actor=request.user,  # type: ignore[arg-type]
        action=AuditAction.ADMIN_CHANGE,
        targets=objects,
        data={"admin": _FLAGS[flag]},
    )


class AuditedModelAdminMixin:
    """Each admin log entry (addition, change, deletion) is also an AuditEvent."""

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)  # type: ignore[misc]
        _audit_admin(request, [obj], ADDITION)
        return entry

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)  # type: ignore[misc]
        _audit_admin(request, [obj], CHANGE)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        objects = list(queryset)
        entries = super().log_deletions(request, objects)  # type: ignore[misc]
        _audit_admin(request, objects, DELETION)
        return entries


class SafeguardingAdminSite(admin.AdminSite):
    site_header = "Safeguarding referrals administration"
    site_title = "Safeguarding referrals administration"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every ModelAdmin, ours or a library's, gets the audit mixin."""
        base = admin_class or admin.ModelAdmin
        if not issubclass(base, AuditedModelAdminMixin):
            base = type(
                base.__name__, (AuditedModelAdminMixin, base), {"__module__": base.__module__}
            )
        super().register(model_or_iterable, base, **options)

    def has_permission(self, request: HttpRequest) -> bool:

        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if settings.REQUIRE_MFA and not user.is_verified():  # type: ignore[attr-defined]
            return False
        return bool(
            user.is_superuser
            or Membership.objects.filter(
                user=user, role=Role.AGENCY_ADMIN, agency__is_active=True
            ).exists()
        )

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """One sign-in for the whole service (with its second factor and lockout)."""
        if request.user.is_authenticated:
            # Signed in, but not an administrator with a verified session.
            raise PermissionDenied
        return redirect_to_login(request.get_full_path(), reverse("login"))
