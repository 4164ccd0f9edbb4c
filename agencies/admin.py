"""Admin for setup data: authorities, agencies, teams, people and routing rules.

Platform operators manage all of it. An agency administrator manages the people and teams of
their own agencies: never another agency's, never an administrator's role (their own or
anyone's), never staff or superuser flags, never their own memberships (safeguarding/admin.py
holds the policy; each model admin here says what it opens and how its rows are scoped).
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from agencies.capabilities import is_platform_operator
from agencies.models import (
    Agency,
    ClosureDay,
    LocalAuthority,
    Membership,
    Role,
    RoutingRule,
    Team,
    User,
)
from agencies.selectors import admin_agency_ids

# Roles only a platform operator grants: administrators, and agency systems (made with their
# OAuth2 application, never by hand).
OPERATOR_ONLY_ROLES = frozenset({Role.AGENCY_ADMIN, Role.AGENCY_SYSTEM})


def _operator(request: HttpRequest) -> bool:
    return is_platform_operator(request.user)


def _agency_ids(request: HttpRequest) -> frozenset[int]:
    return admin_agency_ids(user=request.user)  # type: ignore[arg-type]


class ScopedMembershipFields:
    """A membership's agency, team and role, as far as an agency administrator may set them."""

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if not _operator(request):
            ids = _agency_ids(request)
            if db_field.name == "agency":
                kwargs["queryset"] = Agency.objects.filter(pk__in=ids)
            elif db_field.name == "team":
                kwargs["queryset"] = Team.objects.filter(agency_id__in=ids)
            elif db_field.name == "user":
                kwargs["queryset"] = _scoped_users(ids).exclude(pk=request.user.pk or 0)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_choice_field(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "role" and not _operator(request):
            kwargs["choices"] = [
                (value, label) for value, label in Role.choices if value not in OPERATOR_ONLY_ROLES
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)  # type: ignore[misc]


def _scoped_users(agency_ids: frozenset[int]) -> QuerySet[User]:
    return User.objects.filter(
        pk__in=Membership.objects.filter(agency_id__in=agency_ids).values("user_id")
    )


class MembershipInline(ScopedMembershipFields, admin.TabularInline[Membership, Any]):
    model = Membership
    extra = 0
    autocomplete_fields = ("agency", "team")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        queryset = super().get_queryset(request)
        if _operator(request):
            return queryset
        # Another agency's memberships of the same person are not this administrator's.
        return queryset.filter(agency_id__in=_agency_ids(request))

    def get_min_num(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int | None:
        # A person an agency administrator adds belongs to one of their agencies at once.
        return None if _operator(request) else 1

    def _may(self, request: HttpRequest, obj: Any) -> bool:
        if _operator(request):
            return True
        return bool(_agency_ids(request)) and (obj is None or obj.pk != request.user.pk)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _operator(request) or bool(_agency_ids(request))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj)


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    agency_admin_may = frozenset({"view", "add", "change"})
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "is_staff")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal details", {"fields": ("first_name", "last_name", "phone")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    # What an agency administrator sees of a person: no staff or operator flags, no password.
    agency_admin_fieldsets = (
        (None, {"fields": ("email",)}),
        ("Personal details", {"fields": ("first_name", "last_name", "phone")}),
        ("Access", {"fields": ("is_active",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipInline,)

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[User], agency_ids: frozenset[int]
    ) -> QuerySet[User]:
        return queryset.filter(pk__in=_scoped_users(agency_ids).values("pk"))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not _operator(request):
            return self.agency_admin_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and not _operator(request) and obj.pk == request.user.pk:
            return (*readonly, "is_active")  # nobody switches their own access on or off here
        return readonly

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        # A password is its owner's (and a reset theirs to ask for): operators only here.
        if not _operator(request):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


class ClosureDayInline(admin.TabularInline[ClosureDay, Any]):
    model = ClosureDay
    extra = 0


class RoutingRuleInline(admin.TabularInline[RoutingRule, Any]):
    model = RoutingRule
    extra = 0
    autocomplete_fields = ("team",)


@admin.register(LocalAuthority)
class LocalAuthorityAdmin(admin.ModelAdmin[LocalAuthority]):
    list_display = ("name", "ons_code", "nation", "opens_at", "closes_at")
    search_fields = ("name", "ons_code")
    inlines = (ClosureDayInline, RoutingRuleInline)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin[Agency]):
    agency_admin_may = frozenset({"view"})
    list_display = ("name", "kind", "local_authority", "is_active")
    list_filter = ("kind", "local_authority", "is_active")
    search_fields = ("name", "urn", "ods_code")
    exclude = ("group",)

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[Agency], agency_ids: frozenset[int]
    ) -> QuerySet[Agency]:
        return queryset.filter(pk__in=agency_ids)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    agency_admin_may = frozenset({"view", "add", "change"})
    list_display = ("name", "agency", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "agency__name")

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[Team], agency_ids: frozenset[int]
    ) -> QuerySet[Team]:
        return queryset.filter(agency_id__in=agency_ids)

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "agency" and not _operator(request):
            kwargs["queryset"] = Agency.objects.filter(pk__in=_agency_ids(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Membership)
class MembershipAdmin(ScopedMembershipFields, admin.ModelAdmin[Membership]):
    agency_admin_may = frozenset({"view", "add", "change", "delete"})
    list_display = ("user", "agency", "team", "role")
    list_filter = ("role",)
    search_fields = ("user__email", "agency__name")
    autocomplete_fields = ("user", "agency", "team")

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[Membership], agency_ids: frozenset[int]
    ) -> QuerySet[Membership]:
        # Their own memberships are shown, never theirs to change (agency_admin_may_change).
        return queryset.filter(agency_id__in=agency_ids)

    def agency_admin_may_change(self, request: HttpRequest, obj: Membership) -> bool:
        """Nobody changes or removes their own access: another administrator does."""
        return obj.user_id != request.user.pk


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin[RoutingRule]):
    list_display = ("local_authority", "position", "team", "urgency", "category", "out_of_hours")
    list_filter = ("local_authority",)
    autocomplete_fields = ("team",)


# Sign-in logs (django-axes): an agency administrator reads their own people's.


class ScopedSignInLog:
    agency_admin_may = frozenset({"view"})

    def scoped(
        self, request: HttpRequest, queryset: QuerySet[Any], agency_ids: frozenset[int]
    ) -> QuerySet[Any]:
        emails = _scoped_users(agency_ids).values_list("email", flat=True)
        return queryset.filter(username__in=list(emails))


for model, log_admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    admin.site.unregister(model)
    admin.site.register(
        model, type(log_admin.__name__, (ScopedSignInLog, log_admin), {"__module__": __name__})
    )
