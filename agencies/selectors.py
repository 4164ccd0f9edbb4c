"""Reads about people that decide who sees what: sessions and an agency's users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from agencies.models import Membership, Role, User, UserSession
from referrals.audit import audit_denied


def admin_agency_ids(*, user: User) -> frozenset[int]:
    """The agencies in which the person is an agency administrator (cached on the user object
    for the rest of the request: the admin asks for every model on every page)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached: frozenset[int] | None = getattr(user, "_admin_agency_ids", None)
    if cached is not None:
        return cached
    ids = frozenset(
        Membership.objects.filter(
            user=user, role=Role.AGENCY_ADMIN, agency__is_active=True
        ).values_list("agency_id", flat=True)
    )
    user.__dict__["_admin_agency_ids"] = ids
    return ids


def agency_users_for_admin(*, user: User) -> QuerySet[User]:
    """People with a membership in an agency the person administers (never system accounts)."""
    agencies = admin_agency_ids(user=user)
    return (
        User.objects.filter(memberships__agency_id__in=agencies, is_agency_system=False)
        .distinct()
        .order_by("email")
    )


def agency_user_get_for_admin(*, user: User, pk: Any) -> User:
    """One person the agency admin may manage; Http404 (audited) otherwise."""
    try:
        return agency_users_for_admin(user=user).get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=User, target_id=pk)
        raise Http404 from None


def user_sessions_for_user(*, user: User) -> QuerySet[UserSession]:
    """Sessions the person may see and end: their own, and their agencies' users' if admin."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return UserSession.objects.none()
    agencies = admin_agency_ids(user=user)
    visible = Q(user=user)
    if agencies:
        visible |= Q(user__in=agency_users_for_admin(user=user))
    return UserSession.objects.filter(visible, ended_at__isnull=True).select_related("user")


def user_session_get_for_user(*, user: User, pk: Any) -> UserSession:
    """One open session the person may end; Http404 (audited) otherwise."""
    try:
        return user_sessions_for_user(user=user).get(pk=pk)
    except (UserSession.DoesNotExist, ValueError, TypeError):
        audit_denied(actor=user, target_type=UserSession, target_id=pk)
        raise Http404 from None


def agency_names_for_users(*, user_ids: Iterable[int]) -> dict[int, str]:
    """Each person's agency by name, to name them in a log where the event does not: the first
    by name when they have several, as the service acts for them (docs/design.md, sign-in)."""
    ids = set(user_ids)
    names: dict[int, str] = {}
    if not ids:
        return names
    rows = Membership.objects.filter(user_id__in=ids).order_by("agency__name", "pk")
    for user_id, name in rows.values_list("user_id", "agency__name"):
        names.setdefault(user_id, name)
    return names
