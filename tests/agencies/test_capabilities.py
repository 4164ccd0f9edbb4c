"""Roles give capabilities through groups and model permissions, within an agency."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from agencies.capabilities import ROLE_PERMISSIONS, role_group_name, user_has_capability
from tests import factories
from tests.conftest import World


@pytest.mark.django_db
def test_every_role_has_a_group_with_exactly_its_permissions() -> None:
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role_group_name(role))
        names = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert names == set(perms)


def test_a_capability_is_held_in_one_agency_only(
    world: World, social_worker: Any, outsider: Any
) -> None:
    assert user_has_capability(
        user=social_worker, capability="referrals.acknowledge_referral", agency=world.north_csc
    )
    assert not user_has_capability(
        user=social_worker, capability="referrals.acknowledge_referral", agency=world.south_csc
    )
    assert not user_has_capability(
        user=outsider, capability="referrals.acknowledge_referral", agency=world.north_csc
    )


def test_staff_may_record_concerns_but_not_review_them(world: World, teacher: Any) -> None:
    assert user_has_capability(
        user=teacher, capability="referrals.add_concern", agency=world.riverside
    )
    assert not user_has_capability(
        user=teacher, capability="referrals.review_concern", agency=world.riverside
    )


def test_an_inactive_agency_grants_nothing(world: World, dsl: Any) -> None:
    world.riverside.is_active = False
    world.riverside.save()
    assert not user_has_capability(user=dsl, capability="referrals.add_referral")
    assert factories.UserFactory.create().memberships.count() == 0
