"""Roles give capabilities through Django groups and model permissions.

Each role has a group named ``role:<role>`` holding its model permissions, kept in step with
ROLE_PERMISSIONS after every migrate. A capability is held *in an agency*: being a social
worker in Northshire gives nothing in Southvale. Object visibility never comes from here; it
comes from the selectors.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Concat

from agencies.models import SAFEGUARDING_LEAD_ROLES, Agency, Membership, Role, User

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


def user_has_capability(*, user: User, capability: str, agency: Agency | None = None) -> bool:
    """Whether any of the user's roles (in `agency`, when given) grants the permission."""
    if not user.is_authenticated or not user.is_active:
        return False
    app_label, codename = capability.split(".")
    role_grants = Group.objects.filter(
        name=OuterRef("role_group"),
        permissions__codename=codename,
        permissions__content_type__app_label=app_label,
    )
    memberships = Membership.objects.filter(user=user, agency__is_active=True)
    if agency is not None:
        memberships = memberships.filter(agency=agency)
    return (
        memberships.annotate(role_group=Concat(Value(ROLE_GROUP_PREFIX), "role"))
        .filter(Exists(role_grants))
        .exists()
    )


def _author_or_lead(user: User, author_id: int | None, agency_id: int) -> bool:
    """The person who wrote a record, or a safeguarding lead of the agency it came from."""
    if not user.is_authenticated or not user.is_active:
        return False
    return (
        author_id == user.pk
        or Membership.objects.filter(
            user=user,
            agency_id=agency_id,
            agency__is_active=True,
            role__in=SAFEGUARDING_LEAD_ROLES,
        ).exists()
    )


def user_may_add_to_concern(*, user: User, concern: Any) -> bool:
    """Addenda and files: the person who raised the concern and their agency's leads."""
    return _author_or_lead(user, concern.raised_by_id, concern.agency_id)


def user_is_referrer_side(*, user: User, referral: Any) -> bool:
    """The person who referred, or a safeguarding lead of the referring agency."""
    return _author_or_lead(user, referral.referrer_id, referral.referring_agency_id)


def user_may_add_to_referral(*, user: User, referral: Any) -> bool:
    """Files: the referrer's side and the receiving authority; not agencies it is shared with."""
    from referrals.selectors import referral_is_received_by

    return referral_is_received_by(user=user, referral=referral) or user_is_referrer_side(
        user=user, referral=referral
    )


def user_may_withdraw_referral(*, user: User, referral: Any) -> bool:
    """The referrer and their agency's leads, before the front door acknowledges it."""
    return referral.status in ("draft", "submitted") and user_is_referrer_side(
        user=user, referral=referral
    )


def agencies_with_capability(*, user: User, capability: str) -> list[Agency]:
    """The agencies in which the person holds the capability, by name."""
    ids = {
        m.agency_id
        for m in Membership.objects.filter(user=user, agency__is_active=True).select_related(
            "agency"
        )
        if user_has_capability(user=user, capability=capability, agency=m.agency)
    }
    return list(Agency.objects.filter(pk__in=ids).order_by("name"))
