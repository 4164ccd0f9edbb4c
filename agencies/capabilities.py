"""Roles give capabilities through Django groups and model permissions.

Each role has a group named ``role:<role>`` holding its model permissions, kept in step with
ROLE_PERMISSIONS after every migrate. A capability is held *in an agency*: being a social
worker in Northshire gives nothing in Southvale. Object visibility never comes from here; it
comes from the selectors.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Aggregate, CharField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat

from agencies.models import Agency, Membership, Role, User
from referrals.core import errors
from referrals.core.errors import ensure

ROLE_GROUP_PREFIX = "role:"

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.STAFF: ("referrals.add_concern",),
    Role.DSL: (
        "referrals.add_concern",
        "referrals.review_concern",
        "referrals.add_referral",
    ),
    Role.DEPUTY_DSL: (
        "referrals.add_concern",
        "referrals.review_concern",
        "referrals.add_referral",
    ),
    Role.SOCIAL_WORKER: (
        "referrals.add_concern",
        "referrals.acknowledge_referral",
        "referrals.decide_referral",
        "referrals.share_referral",
        "referrals.transfer_referral",
        "referrals.merge_child",
    ),
    Role.TEAM_MANAGER: (
        "referrals.add_concern",
        "referrals.acknowledge_referral",
        "referrals.decide_referral",
        "referrals.share_referral",
        "referrals.transfer_referral",
        "referrals.reassign_referral",
        "referrals.merge_child",
        "referrals.unmerge_child",
    ),
    Role.SERVICE_MANAGER: (
        "referrals.decide_referral",
        "referrals.share_referral",
        "referrals.transfer_referral",
        "referrals.reassign_referral",
        "referrals.merge_child",
        "referrals.unmerge_child",
    ),
    Role.PARTNER_VIEWER: (),
    Role.AGENCY_ADMIN: (),
    Role.AGENCY_SYSTEM: ("referrals.add_referral",),
}


def role_group_name(role: str) -> str:
    return f"{ROLE_GROUP_PREFIX}{role}"


def roles_sync(**_: Any) -> None:
    """Create or update one group per role with exactly its permissions (post_migrate)."""
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role_group_name(role))
        perms = []
        for name in perm_names:
            app_label, codename = name.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)


def roles_grant(roles: frozenset[str], capability: str) -> bool:
    """Whether any of these roles grants the capability, by the table (no query: for deciding
    what a page offers; the action itself checks with user_has_capability)."""
    return any(capability in ROLE_PERMISSIONS.get(Role(role), ()) for role in roles)


class _Joined(Aggregate):
    """Text values joined by commas (PostgreSQL's STRING_AGG, SQLite's GROUP_CONCAT)."""

    function = "STRING_AGG"
    template = "%(function)s(%(distinct)s%(expressions)s, ',')"
    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, function="GROUP_CONCAT", **extra_context)


@functools.cache
def _memberships_query() -> QuerySet[Membership]:
    """Memberships in active agencies, by agency name, with their agencies, teams and every
    permission their role's group holds ("app_label.codename", joined by commas). Built once
    and filtered per person: building it costs more CPU than PostgreSQL takes to run it."""
    granted = (
        Permission.objects.filter(group__name=OuterRef("role_group"))
        .order_by()
        .values("group__name")
        .annotate(names=_Joined(Concat("content_type__app_label", Value("."), "codename")))
        .values("names")
    )
    return (
        Membership.objects.filter(agency__is_active=True)
        .select_related("agency", "team")
        .annotate(role_group=Concat(Value(ROLE_GROUP_PREFIX), "role"))
        .annotate(granted=Subquery(granted))
        .order_by("agency__name", "agency_id", "pk")
    )


@dataclass(frozen=True)
class HeldMembership:
    """One of a person's memberships (with its agency and team) and what its role grants."""

    membership: Membership
    capabilities: frozenset[str]


def memberships_held(user: User) -> list[HeldMembership]:
    """The person's memberships in active agencies, by agency name, with what each role grants
    there: one query, kept on the user object for the rest of the request (the visibility
    selectors read the same rows, and a page and the service it calls both ask)."""
    cached: list[HeldMembership] | None = user.__dict__.get("_memberships_held")
    if cached is not None:
        return cached
    held = []
    for m in _memberships_query().filter(user=user):
        granted: str = m.granted or ""  # type: ignore[attr-defined]  # the annotation
        held.append(HeldMembership(m, frozenset(filter(None, granted.split(",")))))
    user.__dict__["_memberships_held"] = held
    return held


def _agencies_granting(user: User, capability: str) -> dict[int, Agency]:
    """The active agencies in which the person's roles grant the capability, by id, in order
    of name (the first is the one a form acts for)."""
    return {
        held.membership.agency_id: held.membership.agency
        for held in memberships_held(user)
        if capability in held.capabilities
    }


def user_has_capability(*, user: User, capability: str, agency: Agency | None = None) -> bool:
    """Whether any of the user's roles (in `agency`, when given) grants the permission."""
    if not user.is_authenticated or not user.is_active:
        return False
    granting = _agencies_granting(user, capability)
    return bool(granting) if agency is None else agency.pk in granting


def agencies_with_capability(*, user: User, capability: str) -> list[Agency]:
    """The agencies in which the person holds the capability, by name."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(_agencies_granting(user, capability).values())


def require_capability(*, user: User, capability: str, agency: Agency | None) -> None:
    """Refuse (ApplicationError, "permission_denied") unless the role grants it in `agency`."""
    ensure(
        user_has_capability(user=user, capability=capability, agency=agency),
        errors.PERMISSION_DENIED,
        code="permission_denied",
    )


def is_platform_operator(user: User | Any) -> bool:
    """Runs the service for every authority: the only person the admin shows everything to.

    Django's superuser flag, set only by `manage.py createsuperuser` or another operator; an
    agency administrator is never one.
    """
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))
