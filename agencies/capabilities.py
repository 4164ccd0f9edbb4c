"""Roles give capabilities through Django groups and model permissions.

Each role has a group named ``role:<role>`` holding its model permissions, kept in step with
ROLE_PERMISSIONS after every migrate. A capability is held *in an agency*: being a social
worker in Northshire gives nothing in Southvale. Object visibility never comes from here; it
comes from the selectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Value
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


def _role_grants(capability: str) -> Exists:
    """Whether the group of the outer row's role (`role_group`) holds the permission."""
    app_label, codename = capability.split(".")
    return Exists(
        Group.objects.filter(
            name=OuterRef("role_group"),
            permissions__codename=codename,
            permissions__content_type__app_label=app_label,
        )
    )


# Every capability the roles' table grants: each membership is read with whether its role's
# group holds each one, so every check a request makes is answered from one query.
_GRANTABLE = tuple(sorted({name for names in ROLE_PERMISSIONS.values() for name in names}))


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
    grants = {f"grants_{i}": _role_grants(name) for i, name in enumerate(_GRANTABLE)}
    memberships = (
        Membership.objects.filter(user=user, agency__is_active=True)
        .select_related("agency", "team")
        .annotate(role_group=Concat(Value(ROLE_GROUP_PREFIX), "role"))
        .annotate(**grants)
        .order_by("agency__name", "agency_id", "pk")
    )
    held = [
        HeldMembership(
            m, frozenset(name for i, name in enumerate(_GRANTABLE) if getattr(m, f"grants_{i}"))
        )
        for m in memberships
    ]
    user.__dict__["_memberships_held"] = held
    return held


def _agencies_granting(user: User, capability: str) -> dict[int, Agency]:
    """The active agencies in which the person's roles grant the capability, by id, in order
    of name (the first is the one a form acts for)."""
    if capability in _GRANTABLE:
        return {
            held.membership.agency_id: held.membership.agency
            for held in memberships_held(user)
            if capability in held.capabilities
        }
    # A permission the table gives no role (an administrator may have granted it by hand).
    cache: dict[str, dict[int, Agency]] = user.__dict__.setdefault("_capability_agencies", {})
    if capability not in cache:
        memberships = (
            Membership.objects.filter(user=user, agency__is_active=True)
            .annotate(role_group=Concat(Value(ROLE_GROUP_PREFIX), "role"))
            .filter(_role_grants(capability))
            .select_related("agency")
            .order_by("agency__name", "agency_id")
        )
        cache[capability] = {m.agency_id: m.agency for m in memberships}
    return cache[capability]


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
