"""The admin site: for agency administrators and platform operators only, with a verified
second factor, and every change it makes also an audit event in the hash-chained trail.

Platform operators (superusers) see everything. An agency administrator sees only what a model
admin opens to them (`agency_admin_may`), and only the rows of their own agencies (`scoped`):
every model admin, ours or a library's, gets that policy, closed unless opened.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from agencies.capabilities import is_platform_operator
from agencies.selectors import admin_agency_ids
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


class ScopedAdminMixin:
    """Operators: the model admin's own rules. Agency administrators: what it opens, scoped.

    A model admin opens itself with attributes of its own (this mixin sits first in the class,
    so it defines none of them): `agency_admin_may`, what an agency administrator may do
    ("view", "add", "change", "delete"); `scoped(request, queryset, agency_ids)`, the rows of
    those agencies; and, if some of those rows are theirs to see but not to change,
    `agency_admin_may_change(request, obj)`. Without them, agency administrators see nothing.
    """

    def _opened(self) -> frozenset[str]:
        return frozenset(getattr(self, "agency_admin_may", frozenset()))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset: QuerySet[Any] = super().get_queryset(request)  # type: ignore[misc]
        if is_platform_operator(request.user):
            return queryset
        scoped = getattr(self, "scoped", None)
        if scoped is None:
            return queryset.none()
        result: QuerySet[Any] = scoped(request, queryset, admin_agency_ids(user=request.user))  # type: ignore[arg-type]
        return result

    def _agency_admin_may(self, request: HttpRequest, action: str, obj: Any) -> bool:
        if action not in self._opened():
            return False
        if not admin_agency_ids(user=request.user):  # type: ignore[arg-type]
            return False
        if obj is None:
            return True
        if not self.get_queryset(request).filter(pk=obj.pk).exists():
            return False
        may_change = getattr(self, "agency_admin_may_change", None)
        return action in ("view", "add") or may_change is None or bool(may_change(request, obj))

    def has_module_permission(self, request: HttpRequest) -> bool:
        if is_platform_operator(request.user):
            return bool(super().has_module_permission(request))  # type: ignore[misc]
        return bool(self._opened()) and bool(admin_agency_ids(user=request.user))  # type: ignore[arg-type]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_platform_operator(request.user):
            return bool(super().has_view_permission(request, obj))  # type: ignore[misc]
        return self._agency_admin_may(request, "view", obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if is_platform_operator(request.user):
            return bool(super().has_add_permission(request, *args))  # type: ignore[misc]
        return self._agency_admin_may(request, "add", None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_platform_operator(request.user):
            return bool(super().has_change_permission(request, obj))  # type: ignore[misc]
        return self._agency_admin_may(request, "change", obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if is_platform_operator(request.user):
            return bool(super().has_delete_permission(request, obj))  # type: ignore[misc]
        return self._agency_admin_may(request, "delete", obj)


class SafeguardingAdminSite(admin.AdminSite):
    site_header = "Safeguarding referrals administration"
    site_title = "Safeguarding referrals administration"

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        """Every ModelAdmin, ours or a library's, gets the audit mixin and the scoping policy."""
        base = admin_class or admin.ModelAdmin
        mixins = tuple(
            mixin
            for mixin in (AuditedModelAdminMixin, ScopedAdminMixin)
            if not issubclass(base, mixin)
        )
        if mixins:
            base = type(base.__name__, (*mixins, base), {"__module__": base.__module__})
        super().register(model_or_iterable, base, **options)

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        if settings.REQUIRE_MFA and not user.is_verified():  # type: ignore[attr-defined]
            return False
        return is_platform_operator(user) or bool(admin_agency_ids(user=user))

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """One sign-in for the whole service (with its second factor and lockout)."""
        if request.user.is_authenticated:
            # Signed in, but not an administrator with a verified session.
            raise PermissionDenied
        return redirect_to_login(request.get_full_path(), reverse("login"))
