"""Admin for setup data: authorities, agencies, teams, people and routing rules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from agencies.models import (
    Agency,
    ClosureDay,
    LocalAuthority,
    Membership,
    RoutingRule,
    Team,
    User,
)


class MembershipInline(admin.TabularInline[Membership, Any]):
    model = Membership
    extra = 0
    autocomplete_fields = ("agency", "team")


@admin.register(User)
class UserAdmin(DjangoUserAdmin[User]):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "is_staff")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal details", {"fields": ("first_name", "last_name", "phone")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    inlines = (MembershipInline,)


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
    list_display = ("name", "kind", "local_authority", "is_active")
    list_filter = ("kind", "local_authority", "is_active")
    search_fields = ("name", "urn", "ods_code")
    exclude = ("group",)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ("name", "agency", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "agency__name")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "agency", "team", "role")
    list_filter = ("role",)
    search_fields = ("user__email", "agency__name")
    autocomplete_fields = ("user", "agency", "team")


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin[RoutingRule]):
    list_display = ("local_authority", "position", "team", "urgency", "category", "out_of_hours")
    list_filter = ("local_authority",)
    autocomplete_fields = ("team",)
