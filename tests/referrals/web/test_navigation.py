"""The navigation never offers a page the person cannot use."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import World, _member, signed_in

pytestmark = pytest.mark.django_db

RECORD = ">Record a concern</a>"


@pytest.mark.parametrize(
    ("agency", "role", "offered"),
    [
        ("riverside", "staff", True),
        ("riverside", "dsl", True),
        ("north_csc", "service_manager", False),
        ("health", "partner_viewer", False),
        ("riverside", "agency_admin", False),
    ],
)
def test_record_a_concern_is_offered_only_to_those_who_may(
    client: Client, world: World, agency: str, role: str, offered: bool
) -> None:
    person: Any = _member(getattr(world, agency), role)
    signed_in(client, person)
    nav = client.get("/").content.decode().split("</nav>")[0]
    assert (RECORD in nav) is offered
    start = client.get("/concerns/new/")
    assert start.status_code == (200 if offered else 403)
