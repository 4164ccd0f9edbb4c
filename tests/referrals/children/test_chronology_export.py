"""The chronology as a document (issue 15): filters, a PDF and a CSV with a watermark naming who
made them and when, each export audited with what left, nothing fetched while making the PDF,
nothing for outsiders, and no "Draft started": a draft is not part of a child's record."""

from __future__ import annotations

import csv
import datetime
import http.server
import io
import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from pypdf import PdfReader

from referrals.casework.referrals import referral_create, referral_submit
from referrals.casework.triage import referral_acknowledge
from referrals.children.chronology import child_chronology_for_user
from referrals.concerns.services import addendum_create
from referrals.models import AuditAction, AuditEvent, Child, Referral
from referrals.web.views.chronology import chronology_pdf_bytes
from tests import factories
from tests.conftest import World, signed_in

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
IN_ORDER = [
    "Concern recorded",
    "Referral: Submitted",
    "Referral: Acknowledged",
    "Added to a concern",
]
FIRST = "Arrived at school hungry, no coat."
LAST = "Spoke to mum at pick-up."


def _at(day: int, hour: int) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, hour, 0, tzinfo=LONDON)


def _referral(dsl: Any, agency: Any, child: Child) -> Referral:
    return referral_create(
        user=dsl,
        agency=agency,
        child=child,
        urgency="urgent",
        category="neglect",
        reason="Hungry most mornings.",
        desired_outcome="An assessment.",
        consent=Referral.Consent.GIVEN,
    )


@pytest.fixture
def story(world: World, dsl: Any, teacher: Any, social_worker: Any) -> dict[str, Any]:
    """A concern, a referral started as a draft then sent and acknowledged, an addendum, and
    another referral still a draft; each on its own day of November 2026."""
    dsl.first_name, dsl.last_name = "Dee", "Lead"
    dsl.save()
    child = factories.ChildFactory.create(
        created_by_agency=world.riverside, first_name="Amy", last_name="Example"
    )
    concern = factories.ConcernFactory.create(
        agency=world.riverside,
        child=child,
        raised_by=teacher,
        observed_at=_at(1, 9),
        what_happened=FIRST,
    )
    with time_machine.travel(_at(2, 10), tick=False):
        referral = _referral(dsl, world.riverside, child)
    with time_machine.travel(_at(3, 11), tick=False):
        referral_submit(referral=referral, user=dsl)
    with time_machine.travel(_at(4, 12), tick=False):
        referral_acknowledge(referral=referral, user=social_worker)
    with time_machine.travel(_at(5, 13), tick=False):
        addendum_create(user=dsl, concern=concern, text=LAST)
    with time_machine.travel(_at(6, 14), tick=False):
        draft = _referral(dsl, world.riverside, child)
    return {"child": child, "concern": concern, "referral": referral, "draft": draft}


def _pdf_text(response: Any) -> list[str]:
    reader = PdfReader(io.BytesIO(response.content))
    return [" ".join((page.extract_text() or "").split()) for page in reader.pages]


def _positions(text: str, titles: list[str]) -> list[int]:
    return [text.index(title) for title in titles]


def _download(actor: Any) -> AuditEvent:
    return AuditEvent.objects.get(actor=actor, action=AuditAction.DOWNLOAD)


def test_drafts_and_draft_started_are_never_part_of_the_record(
    dsl: Any, story: dict[str, Any]
) -> None:
    entries, _concerns, referrals = child_chronology_for_user(user=dsl, child=story["child"])
    assert [entry.title for entry in entries] == IN_ORDER
    assert referrals == [story["referral"]]  # the draft is not even listed (nor audited)
    assert story["draft"].events.filter(kind="created").exists()  # it is there, just not record


def test_the_pdf_has_the_entries_in_order_and_a_watermark_and_its_export_is_audited(
    client: Client, dsl: Any, story: dict[str, Any]
) -> None:
    child = story["child"]
    signed_in(client, dsl)
    with time_machine.travel(_at(29, 17) + datetime.timedelta(minutes=30), tick=False):
        response = client.get(f"/children/{child.pk}/chronology.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="chronology-child-{child.pk}-2026-11-29.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    pages = _pdf_text(response)
    text = " ".join(pages)
    positions = _positions(text, [*IN_ORDER, FIRST, LAST])
    assert positions[:4] == sorted(positions[:4])
    assert "Draft started" not in text
    watermark = (
        "Printed by Dee Lead, Riverside Primary School, 29 Nov 2026 17:30 — OFFICIAL-SENSITIVE"
    )
    assert all(watermark in page for page in pages)
    event = _download(dsl)
    assert (event.target_type, event.target_id) == ("referrals.child", str(child.pk))
    entries, _c, _r = child_chronology_for_user(user=dsl, child=child)
    assert event.data == {
        "format": "pdf",
        "filters": {"agencies": [], "kinds": [], "from": None, "to": None},
        "entries": 4,
        "entry_ids": [entry.ref for entry in entries],
    }


def test_the_csv_says_who_exported_it_then_lists_the_entries_in_order(
    client: Client, dsl: Any, story: dict[str, Any]
) -> None:
    child = story["child"]
    signed_in(client, dsl)
    response = client.get(f"/children/{child.pk}/chronology.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    filename = f"chronology-child-{child.pk}-{timezone.localdate():%Y-%m-%d}.csv"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert "Amy" not in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert re.fullmatch(
        r"Exported by Dee Lead, Riverside Primary School, \d{1,2} \w{3} \d{4} \d\d:\d\d"
        r" — OFFICIAL-SENSITIVE",
        rows[0][0],
    )
    assert rows[1] == ["Entry", "Date and time", "What happened", "Agency", "Record", "Details"]
    assert [row[2] for row in rows[2:]] == IN_ORDER
    assert rows[2][1] == "2026-11-01 09:00"
    assert rows[2][5] == FIRST
    assert rows[5][4] == f"Concern #{story['concern'].pk}"
    event = _download(dsl)
    assert event.data["format"] == "csv"
    assert event.data["entry_ids"] == [row[0] for row in rows[2:]]


def test_a_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted(
    client: Client, dsl: Any, story: dict[str, Any]
) -> None:
    addendum_create(user=dsl, concern=story["concern"], text='=HYPERLINK("http://x.test")')
    signed_in(client, dsl)
    response = client.get(f"/children/{story['child'].pk}/chronology.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[-1][5] == '\'=HYPERLINK("http://x.test")'


def test_filters_narrow_the_page_and_the_exports_and_the_audit_says_which(
    client: Client, world: World, dsl: Any, story: dict[str, Any]
) -> None:
    child = story["child"]
    signed_in(client, dsl)
    page = client.get(f"/children/{child.pk}/", {"kind": "referral"})
    assert [entry.title for entry in page.context["entries"]] == IN_ORDER[1:3]
    assert "Showing 2 of 4 entries" in page.content.decode()
    dated = {"from_day": "4", "from_month": "11", "from_year": "2026"}
    dated |= {"to_day": "5", "to_month": "11", "to_year": "2026"}
    page = client.get(f"/children/{child.pk}/", dated)
    assert [entry.title for entry in page.context["entries"]] == IN_ORDER[2:]
    query = page.context["export_query"]
    assert f"/chronology.csv?{query.replace('&', '&amp;')}" in page.content.decode()
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/children/{child.pk}/chronology.csv?{query}").content.decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert [row[2] for row in rows[2:]] == IN_ORDER[2:]
    assert _download(dsl).data["filters"] == {
        "agencies": [],
        "kinds": [],
        "from": "2026-11-04",
        "to": "2026-11-05",
    }
    # The agency filter: only what the front door did (it acknowledged).
    page = client.get(f"/children/{child.pk}/", {"agency": world.north_csc.pk})
    assert [entry.title for entry in page.context["entries"]] == ["Referral: Acknowledged"]


def test_a_filter_that_makes_no_sense_says_so_and_shows_everything(
    client: Client, dsl: Any, story: dict[str, Any]
) -> None:
    signed_in(client, dsl)
    backwards = {"from_day": "5", "from_month": "11", "from_year": "2026"}
    backwards |= {"to_day": "1", "to_month": "11", "to_year": "2026"}
    page = client.get(f"/children/{story['child'].pk}/", backwards)
    assert "The last date must be the same as or after the first date" in page.content.decode()
    assert len(page.context["entries"]) == 4
    assert page.context["export_query"] == ""


@pytest.mark.parametrize("person", ["other_school_dsl", "outsider", "police_officer"])
@pytest.mark.parametrize("fmt", ["pdf", "csv"])
def test_nobody_outside_gets_the_pdf_or_the_csv(
    client: Client, request: pytest.FixtureRequest, story: dict[str, Any], person: str, fmt: str
) -> None:
    user = request.getfixturevalue(person)
    signed_in(client, user)
    response = client.get(f"/children/{story['child'].pk}/chronology.{fmt}")
    assert response.status_code == 404
    assert "Amy" not in response.content.decode()
    assert not AuditEvent.objects.filter(actor=user, action=AuditAction.DOWNLOAD).exists()
    assert AuditEvent.objects.filter(actor=user, action=AuditAction.DENIED).exists()


@pytest.fixture
def listening() -> Iterator[tuple[str, list[str]]]:
    """A web server on this machine that notes every request made to it."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { color: red }")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", asked
    finally:
        server.shutdown()
        server.server_close()


def test_making_a_pdf_fetches_no_url_whatever_the_html_asks_for(
    listening: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, asked = listening
    opened: list[Any] = []
    real_open = urllib.request.OpenerDirector.open

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    html = (
        f'<html><head><link rel="stylesheet" href="{base}/style.css">'
        f"<style>@import url('{base}/imported.css');</style></head>"
        f'<body><p>Made here</p><img src="{base}/picture.png">'
        '<img src="file:///etc/hostname"></body></html>'
    )
    pdf = chronology_pdf_bytes(html)
    assert "Made here" in (PdfReader(io.BytesIO(pdf)).pages[0].extract_text() or "")
    assert asked == []
    assert opened == []


def test_the_pdf_view_opens_no_url(
    client: Client, dsl: Any, story: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the PDF tried to fetch a URL")

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", refuse)
    signed_in(client, dsl)
    response = client.get(f"/children/{story['child'].pk}/chronology.pdf")
    assert response.status_code == 200
    assert "Concern recorded" in " ".join(_pdf_text(response))


def test_the_page_carries_the_print_watermark_and_the_downloads(
    client: Client, dsl: Any, story: dict[str, Any]
) -> None:
    child = story["child"]
    signed_in(client, dsl)
    with time_machine.travel(_at(29, 17) + datetime.timedelta(minutes=30), tick=False):
        page = client.get(f"/children/{child.pk}/").content.decode()
    assert (
        '<thead class="app-print-watermark"><tr><td>Printed by Dee Lead, Riverside Primary '
        "School, 29 Nov 2026 17:30 — OFFICIAL-SENSITIVE</td></tr></thead>"
    ) in page
    assert f'href="/children/{child.pk}/chronology.pdf"' in page
    assert f'href="/children/{child.pk}/chronology.csv"' in page
    assert "Draft started" not in page
