"""What the page tests share: a child to write about, and the addresses of the forms about her."""

from __future__ import annotations

import pytest

from referrals.models import Child
from tests import factories
from tests.conftest import World

# An autosave is the form's script posting in the background.
AUTOSAVE = {"X-Requested-With": "fetch"}


@pytest.fixture
def child(world: World) -> Child:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Amy", last_name="Example"
    )


def form_url(child: Child) -> str:
    return f"/children/{child.pk}/referrals/new/"


def check_url(child: Child) -> str:
    return f"/children/{child.pk}/referrals/check/"


def concern_url(child: Child) -> str:
    return f"/children/{child.pk}/concerns/new/"
