"""What the joined-up tests share: a fixed working Tuesday and a quick way to record a child."""

from __future__ import annotations

import datetime
from typing import Any

from referrals.children.services import child_create
from referrals.models import Child
from tests.conftest import World

UTC = datetime.UTC
# Tuesday 24 November 2026, 10:30 in London: in working hours.
TUESDAY = datetime.datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
NHS = "9434765919"


def record_child(agency: Any, user: Any, first: str, last: str, born: str, **extra: Any) -> Child:
    return child_create(
        user=user,
        agency=agency,
        first_name=first,
        last_name=last,
        date_of_birth=datetime.date.fromisoformat(born),
        **extra,
    )


def authority_children(world: World) -> Any:
    return Child.objects.filter(local_authority=world.northshire, merged_into__isnull=True)
