"""Issue 15, every list searchable, filterable, sortable and paged: the queue, the concern list,
the Referrals page and the notifications. A search by child's name is posted and kept in the
session under an opaque key, so the name never reaches a URL; the other filters are query
parameters; each list costs the same queries at 10 rows and at 500."""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals.casework.listing import Search
from referrals.casework.queue import QUEUE_PAGE_SIZE
from referrals.clocks.calendar import LONDON
from referrals.models import AuditAction, AuditEvent, Concern, Notification, Referral
from referrals.web.views import lists
from tests import factories
from tests.conftest import World, signed_in

QUEUE = "/queue/"


def _received(world: World, **extra: Any) -> Referral:
    """A referral from Riverside in the Front Door's queue."""
    extra.setdefault("child__created_by_agency", world.riverside)
    extra.setdefault("referring_agency", world.riverside)
    return factories.SubmittedReferralFactory.create(team=world.front_door, **extra)


def _child(world: World, first: str, last: str) -> Any:
    return factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name=first, last_name=last
    )


def _copies(record: Model, count: int, **changes: Any) -> None:
    """`count` more rows like `record` in one INSERT (as many rows as a busy list has)."""
    rows = []
    for _ in range(count):
        row = copy.copy(record)
        row.pk = None
        row._state.adding = True
        for name, value in changes.items():
            setattr(row, name, value)
        rows.append(row)
    type(record)._default_manager.bulk_create(rows)


def _ids(response: Any, mark: str = r'data-referral="(\d+)"') -> list[int]:
    return [int(pk) for pk in re.findall(mark, response.content.decode())]


def _row_links(response: Any, path: str) -> list[int]:
    """The records a list shows, by their links (`path` such as "/concerns/")."""
    body = response.content.decode()
    rows = re.findall(r"<(?:tr|li)[^>]*data-row[^>]*>(.*?)</(?:tr|li)>", body, re.S)
    found = [re.search(rf'href="{re.escape(path)}(\d+)/"', row) for row in rows]
    return [int(match.group(1)) for match in found if match]


def _search(client: Client, url: str, **data: str) -> Any:
    """Post the list's search form and follow the redirect: the search is in no address."""
    posted = client.post(url, data)
    assert posted.status_code == 302, posted.content.decode()[:2000]
    page = client.get(posted["Location"])
    assert page.status_code == 200
    term = data.get("search", "")
    if term and not Search.parse(term).number:
        assert term.lower() not in posted["Location"].lower()
        hrefs = re.findall(r'(?:href|action)="([^"]*)"', page.content.decode())
        assert hrefs
        assert not [href for href in hrefs if term.lower() in href.lower()]
    return page


# Searching ---------------------------------------------------------------------------------------


def test_it_reads_a_search_as_a_number_or_the_words_of_a_name() -> None:
    assert Search.parse("#13") == Search(number=13)
    assert Search.parse(" 13 ") == Search(number=13)
    assert Search.parse("Zoë  O'Brien") == Search(words=("zoe", "obrien"))
    assert not Search.parse("  !! ")


def test_a_social_worker_finds_a_referral_in_the_queue_by_part_of_the_childs_name(
    client: Client, world: World, social_worker: Any
) -> None:
    amelia = _received(world, child=_child(world, "Amélia", "Okonkwo-Smith"))
    jon = _received(world, child=_child(world, "Jonathan", "Baker"))
    _received(world, child=_child(world, "Ben", "Carter"))
    signed_in(client, social_worker)
    assert _ids(_search(client, QUEUE, search="okonkwo")) == [amelia.pk]
    assert _ids(_search(client, QUEUE, search="AMELIA smi")) == [amelia.pk]
    # A first name's variant finds it too (the matcher's keys): Jon is John is Jonathan.
    assert _ids(_search(client, QUEUE, search="jonat")) == [jon.pk]
    assert _ids(_search(client, QUEUE, search=f"#{jon.pk}")) == [jon.pk]
    assert _ids(_search(client, QUEUE, search=str(amelia.pk))) == [amelia.pk]
    assert _ids(_search(client, QUEUE, search="nobody")) == []
    # Only the rows shown are audited as read.
    listed = AuditEvent.objects.filter(actor=social_worker, action=AuditAction.LIST)
    assert {pk for event in listed for pk in event.target_ids or ()} == {amelia.pk, jon.pk}


def test_the_search_is_kept_in_the_session_under_an_opaque_key_with_the_filters_in_the_url(
    client: Client, world: World, social_worker: Any
) -> None:
    child = _child(world, "Maisie", "Thornbury")
    urgent = _received(world, child=child, urgency="urgent")
    _received(world, child=child, urgency="standard")
    signed_in(client, social_worker)
    posted = client.post(QUEUE, {"search": "thornbury", "urgency": "urgent"})
    location = posted["Location"]
    assert re.fullmatch(r"/queue/\?urgency=urgent&search=[\w-]{16}", location), location
    key = location.rsplit("=", 1)[1]
    assert client.session[lists.SEARCHES_SESSION_KEY][key] == "thornbury"
    page = client.get(location)
    assert _ids(page) == [urgent.pk]
    assert 'value="thornbury"' in page.content.decode()  # the box shows it, in the body
    # The filters alone are a link anyone may follow; a key another session made finds nothing.
    other = signed_in(Client(), social_worker)
    assert len(_ids(other.get("/queue/?urgency=urgent"))) == 1
    stranger = other.get(location)
    assert "That search is no longer kept" in stranger.content.decode()
    assert len(_ids(stranger)) == 1  # the urgency filter still holds; nothing is searched
    # An empty search clears it.
    cleared = client.post(QUEUE, {"search": ""})
    assert cleared["Location"] == QUEUE


@pytest.mark.parametrize(
    "after",
    ["1.x.3", "0.2.3.4", "0.2.t1.t4", "-5.2.t1.4", "0.2.t99999999999999999999999.4", "0.2"],
)
def test_a_malformed_or_wrongly_typed_cursor_shows_the_first_page(
    client: Client, world: World, social_worker: Any, dsl: Any, after: str
) -> None:
    referral = _received(world)
    signed_in(client, social_worker)
    assert _ids(client.get(f"/queue/?after={after}")) == [referral.pk]
    assert _ids(client.get(f"/queue/?sort=newest&after={after}")) == [referral.pk]
    signed_in(client, dsl)
    assert client.get(f"/notifications/?after={after}").status_code == 200


def test_only_the_latest_searches_are_kept(
    client: Client, world: World, social_worker: Any
) -> None:
    signed_in(client, social_worker)
    for index in range(lists.SEARCHES_KEPT + 5):
        client.post(QUEUE, {"search": f"name{index}"})
    kept = client.session[lists.SEARCHES_SESSION_KEY]
    assert len(kept) == lists.SEARCHES_KEPT
    assert f"name{lists.SEARCHES_KEPT + 4}" in kept.values()
    assert "name0" not in kept.values()


def test_a_wrong_date_is_a_govuk_error_and_goes_nowhere(
    client: Client, world: World, social_worker: Any
) -> None:
    signed_in(client, social_worker)
    response = client.post(
        QUEUE,
        {"from_day": "31", "from_month": "2", "from_year": "2026", "to_day": "1"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "There is a problem" in body
    assert "The first date must be a real date" in body
    assert "The last date must include a day, month and year" in body
    later = client.post(
        QUEUE,
        {
            **{"from_day": "2", "from_month": "3", "from_year": "2026"},
            **{"to_day": "1", "to_month": "3", "to_year": "2026"},
        },
    )
    assert later.status_code == 400
    assert "The last date must be the same as or after the first date" in later.content.decode()


# Filters and orders narrow exactly ----------------------------------------------------------------


def _at(referral: Referral, when: datetime.datetime) -> Referral:
    Referral.objects.filter(pk=referral.pk).update(submitted_at=when, created_at=when)
    referral.refresh_from_db()
    return referral


def test_the_queue_filters_by_the_day_received_and_sorts_newest_or_oldest_first(
    client: Client, world: World, social_worker: Any
) -> None:
    due = timezone.now() + datetime.timedelta(hours=5)
    first = _at(
        _received(world, decision_due_at=due + datetime.timedelta(hours=2)),
        datetime.datetime(2026, 3, 2, 0, 30, tzinfo=LONDON),
    )
    second = _at(
        _received(world, decision_due_at=due),
        datetime.datetime(2026, 3, 3, 23, 30, tzinfo=LONDON),
    )
    third = _at(
        _received(world, decision_due_at=due + datetime.timedelta(hours=1)),
        datetime.datetime(2026, 3, 4, 9, tzinfo=LONDON),
    )
    signed_in(client, social_worker)
    march = {"from_day": "2", "from_month": "3", "from_year": "2026"}
    to_third = {"to_day": "3", "to_month": "3", "to_year": "2026"}
    page = _search(client, QUEUE, **march, **to_third, sort="oldest")
    assert _ids(page) == [first.pk, second.pk]
    # Dates and orders are not personal data: the list's address carries them, to be linked.
    assert page.wsgi_request.GET.dict() == {
        "from": "2026-03-02",
        "to": "2026-03-03",
        "sort": "oldest",
    }
    assert _ids(client.get("/queue/?from=2026-03-03&sort=newest")) == [third.pk, second.pk]
    assert _ids(client.get("/queue/?to=2026-03-01")) == []
    # The default order is the deadline's.
    assert _ids(client.get(QUEUE)) == [second.pk, third.pk, first.pk]


def test_the_queue_pages_newest_first_without_repeating_or_missing_a_referral(
    client: Client, world: World, social_worker: Any
) -> None:
    first = _received(world)
    _copies(first, QUEUE_PAGE_SIZE + 4)
    signed_in(client, social_worker)
    seen: list[int] = []
    url = "/queue/?sort=newest"
    while url:
        page = client.get(url.replace("&amp;", "&"))
        seen += _ids(page)
        found = re.search(r'href="([^"]+)" rel="next"', page.content.decode())
        url = found.group(1) if found else ""
    assert "Showing referrals 51 to 55." in page.content.decode()
    made = Referral.objects.filter(team=world.front_door).values_list("pk", flat=True)
    assert seen == sorted(made, reverse=True)


def test_the_concern_list_narrows_by_search_status_urgency_and_date(
    client: Client, world: World, dsl: Any, teacher: Any
) -> None:
    ruby = _child(world, "Ruby", "Marsh")
    other = _child(world, "Omar", "Faulkner")
    new_ruby = factories.ConcernFactory.create(
        agency=world.riverside, child=ruby, raised_by=teacher
    )
    urgent_omar = factories.ConcernFactory.create(
        agency=world.riverside, child=other, raised_by=teacher, urgency="immediate"
    )
    own = factories.ReviewedConcernFactory.create(agency=world.riverside, child=ruby, raised_by=dsl)
    Concern.objects.filter(pk=own.pk).update(
        created_at=datetime.datetime(2026, 1, 15, 12, tzinfo=datetime.UTC)
    )
    signed_in(client, dsl)
    found = _search(client, "/concerns/", search="marsh")
    assert _row_links(found, "/concerns/") == [new_ruby.pk, own.pk]
    assert _row_links(_search(client, "/concerns/", search="ruby", status="new"), "/concerns/") == [
        new_ruby.pk
    ]
    listed = AuditEvent.objects.filter(actor=dsl, action=AuditAction.LIST)
    assert {pk for e in listed for pk in e.target_ids or ()} == {new_ruby.pk, own.pk}
    immediate = _search(client, "/concerns/", urgency="immediate")
    assert _row_links(immediate, "/concerns/") == [urgent_omar.pk]
    january = client.get("/concerns/?mine=1&from=2026-01-01&to=2026-01-31")
    assert _row_links(january, "/concerns/") == [own.pk]
    assert _row_links(client.get("/concerns/?status=reviewed"), "/concerns/") == [own.pk]
    # The review queue alone, the card's link, still most urgent first; or the oldest first.
    assert _row_links(client.get("/concerns/?status=new"), "/concerns/") == [
        urgent_omar.pk,
        new_ruby.pk,
    ]
    assert _row_links(client.get("/concerns/?status=new&sort=oldest"), "/concerns/") == [
        new_ruby.pk,
        urgent_omar.pk,
    ]
    assert _row_links(_search(client, "/concerns/", search=f"#{urgent_omar.pk}"), "/concerns/") == [
        urgent_omar.pk
    ]


def test_the_referrals_page_narrows_by_search_status_urgency_date_and_keeps_the_cards_filter(
    client: Client, world: World, dsl: Any
) -> None:
    def made(factory: Any, child: Any, **extra: Any) -> Referral:
        return factory.create(
            referring_agency=world.riverside,
            referrer=dsl,
            team=world.front_door,
            child=child,
            **extra,
        )

    poppy = _child(world, "Poppy", "Lindqvist")
    sam = _child(world, "Sam", "Adeyemi")
    open_poppy = made(factories.SubmittedReferralFactory, poppy, urgency="urgent")
    open_sam = made(factories.AcknowledgedReferralFactory, sam)
    closed_poppy = made(factories.ClosedReferralFactory, poppy)
    _at(closed_poppy, datetime.datetime(2025, 12, 1, 10, tzinfo=datetime.UTC))
    signed_in(client, dsl)
    mine = "/referrals/mine/"
    assert _row_links(_search(client, mine, search="lindq"), "/referrals/") == [
        open_poppy.pk,
        closed_poppy.pk,
    ]
    assert _row_links(_search(client, mine, search="lindq", sort="oldest"), "/referrals/") == [
        closed_poppy.pk,
        open_poppy.pk,
    ]
    assert _row_links(_search(client, mine, status="acknowledged"), "/referrals/") == [open_sam.pk]
    assert _row_links(_search(client, mine, urgency="urgent"), "/referrals/") == [open_poppy.pk]
    assert _row_links(client.get(f"{mine}?to=2025-12-31"), "/referrals/") == [closed_poppy.pk]
    # The card's filter (awaiting an outcome) is kept by the form's hidden fields.
    waiting = _search(client, mine, search="poppy", waiting="outcome")
    assert _row_links(waiting, "/referrals/") == [open_poppy.pk]
    assert "Your referrals awaiting an outcome" in waiting.content.decode()
    # What a search shows is audited as read, and only that.
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    _search(client, mine, search="adeyemi")
    listed = AuditEvent.objects.filter(actor=dsl, action=AuditAction.LIST, pk__gt=before)
    assert [(e.target_type, e.target_ids) for e in listed] == [
        ("referrals.referral", [open_sam.pk])
    ]


def test_the_notifications_search_finds_only_records_the_person_may_still_see(
    client: Client, world: World, dsl: Any, teacher: Any
) -> None:
    tilly = _child(world, "Tilly", "Roberts")
    theirs = factories.ConcernFactory.create(agency=world.riverside, child=tilly, raised_by=teacher)
    elsewhere = factories.ConcernFactory.create(
        agency=world.hillview, child=_child(world, "Tilly", "Roberts")
    )

    def notice(concern: Concern, **extra: Any) -> Notification:
        return factories.NotificationFactory.create(
            recipient=dsl,
            in_app_only=True,
            concern=concern,
            subject=f"Concern #{concern.pk}",
            **extra,
        )

    seen = notice(theirs)
    # A notice about a record the person may not see (now): a name search does not find it.
    hidden = notice(elsewhere, read_at=timezone.now())
    signed_in(client, dsl)
    ids = r'href="/notifications/(\d+)/"'
    assert _ids(_search(client, "/notifications/", search="roberts"), ids) == [seen.pk]
    assert _ids(_search(client, "/notifications/", search=f"#{elsewhere.pk}"), ids) == [hidden.pk]
    assert _ids(_search(client, "/notifications/", unread="1"), ids) == [seen.pk]
    assert _ids(client.get("/notifications/?sort=oldest"), ids) == [seen.pk, hidden.pk]
    assert _ids(client.get(f"/notifications/?kind={seen.kind}&unread=1"), ids) == [seen.pk]


def test_a_count_stops_at_its_cap(
    client: Client, world: World, dsl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "COUNT_CAP", 3)
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 2)
    first = factories.NotificationFactory.create(recipient=dsl, in_app_only=True)
    _copies(first, 5)
    signed_in(client, dsl)
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/notifications/").content.decode()
    assert "Showing 1 to 2 of more than 3." in body
    # The count is of a subquery that stops one row past the cap, not of the whole table.
    counts = [q["sql"] for q in queries if "FROM (SELECT" in q["sql"] and "COUNT(" in q["sql"]]
    assert len(counts) == 1
    assert counts[0].endswith("LIMIT 4) subquery")
    monkeypatch.setattr(lists, "COUNT_CAP", 6)
    assert "Showing 1 to 2 of 6." in client.get("/notifications/").content.decode()


# Query counts: the same at 10 rows and at 500 --------------------------------------------------


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _constant(
    client: Client, url: str, grow: Any, django_assert_num_queries: Any, rows: str
) -> None:
    """The page costs the same queries with 10 rows as with 500."""
    client.get(url)  # the session's first write is not the page's cost
    with_10 = _queries(client, url)
    grow()
    with django_assert_num_queries(with_10):
        response = client.get(url)
    assert len(re.findall(rows, response.content.decode())) >= 50


def test_the_searched_and_filtered_queue_costs_the_same_with_10_and_500_referrals(
    client: Client, world: World, social_worker: Any, django_assert_num_queries: Any
) -> None:
    child = _child(world, "Harriet", "Quill")
    first = _received(world, child=child, urgency="urgent")
    _copies(first, 9)
    signed_in(client, social_worker)
    url = _search(client, QUEUE, search="quill", urgency="urgent", sort="newest").wsgi_request
    address = url.get_full_path()
    _constant(
        client,
        address,
        lambda: _copies(first, 490),
        django_assert_num_queries,
        r"data-referral=",
    )
    assert Referral.objects.filter(team=world.front_door).count() == 500


def test_the_concern_list_costs_the_same_with_10_and_500_concerns(
    client: Client, world: World, dsl: Any, teacher: Any, django_assert_num_queries: Any
) -> None:
    child = _child(world, "Iris", "Vance")
    first = factories.ConcernFactory.create(agency=world.riverside, child=child, raised_by=teacher)
    own = factories.ConcernFactory.create(agency=world.riverside, child=child, raised_by=dsl)
    _copies(first, 5)
    _copies(own, 3)
    signed_in(client, dsl)
    address = _search(client, "/concerns/", search="vance").wsgi_request.get_full_path()

    def grow() -> None:
        _copies(first, 245)
        _copies(own, 245)

    _constant(client, address, grow, django_assert_num_queries, r"<tr[^>]*data-row")
    assert Concern.objects.count() == 500


def test_the_referrals_page_costs_the_same_with_10_and_500_referrals(
    client: Client, world: World, dsl: Any, django_assert_num_queries: Any
) -> None:
    child = _child(world, "Felix", "Moreau")
    first = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door, child=child
    )
    _copies(first, 9)
    signed_in(client, dsl)
    address = _search(client, "/referrals/mine/", search="moreau").wsgi_request.get_full_path()
    _constant(client, address, lambda: _copies(first, 490), django_assert_num_queries, r"data-row")
    assert Referral.objects.filter(referrer=dsl).count() == 500


def test_the_notifications_page_costs_the_same_with_10_and_500(
    client: Client, world: World, dsl: Any, teacher: Any, django_assert_num_queries: Any
) -> None:
    concern = factories.ConcernFactory.create(
        agency=world.riverside, child=_child(world, "Nell", "Ashdown"), raised_by=teacher
    )
    first = factories.NotificationFactory.create(recipient=dsl, in_app_only=True, concern=concern)
    _copies(first, 9)
    signed_in(client, dsl)
    address = _search(client, "/notifications/", search="ashdown").wsgi_request.get_full_path()
    _constant(client, address, lambda: _copies(first, 490), django_assert_num_queries, r"data-row")
    assert Notification.objects.filter(recipient=dsl).count() == 500


def test_every_list_pages_through_all_its_rows_once(
    client: Client, world: World, dsl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 7)
    first = factories.SubmittedReferralFactory.create(
        referring_agency=world.riverside, referrer=dsl, team=world.front_door
    )
    _copies(first, 19)
    signed_in(client, dsl)
    seen: list[int] = []
    url = "/referrals/mine/?sort=oldest"
    pages = 0
    while url:
        page = client.get(url.replace("&amp;", "&"))
        seen += _row_links(page, "/referrals/")
        found = re.search(r'href="([^"]+)" rel="next"', page.content.decode())
        url = found.group(1) if found else ""
        pages += 1
    assert pages == 3
    assert seen == sorted(Referral.objects.filter(referrer=dsl).values_list("pk", flat=True))
