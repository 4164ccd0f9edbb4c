"""Issue 17: reads are audited per response. A list or API page writes one audit event naming
every record it returned; "who has seen this" still finds every reader; the chain covers the ids."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from referrals.audit import (
    audit_event_hash,
    audit_readers_of,
    audit_record,
    audit_record_many,
    audit_rows_last,
)
from referrals.casework.partners import api_client_create
from referrals.models import AuditAction, AuditEvent, Child, Referral
from tests import factories
from tests.conftest import ROOT, World, signed_in
from tests.referrals.api.conftest import ApiClient, issue_token

TRIGGER = "referrals_auditevent_append_only"


@pytest.fixture
def front_door_api(world: World) -> ApiClient:
    """Northshire's front-door system, through the real token endpoint."""
    application, secret = api_client_create(agency=world.north_csc, name="Front door system")
    token = issue_token(application.client_id, secret, "referrals:read referrals:write")
    return ApiClient(token, application.user)


def _received(world: World, count: int) -> list[Referral]:
    """Referrals from Riverside at Northshire's front door, oldest first."""
    return list(
        factories.SubmittedReferralFactory.create_batch(
            count,
            referring_agency=world.riverside,
            child__created_by_agency=world.riverside,
            team=world.front_door,
        )
    )


def _newest_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def _verify() -> str:
    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=out)
    return out.getvalue()


# One row per page -----------------------------------------------------------------------------


def test_an_api_page_of_100_referrals_is_one_event_naming_all_100(
    world: World, front_door_api: ApiClient
) -> None:
    referrals = _received(world, 100)
    before = _newest_id()
    with CaptureQueriesContext(connection) as captured:
        response = front_door_api.get("/api/v1/referrals/", {"page_size": 100})
    assert len(response.json()["results"]) == 100
    # Rows written for the page: 1 (one per record, 100, before issue 17), in one statement.
    written = list(AuditEvent.objects.filter(pk__gt=before))
    assert len(written) == 1
    inserts = [q for q in captured if q["sql"].lstrip().startswith("INSERT INTO referrals_audit")]
    assert len(inserts) == 1
    event = written[0]
    assert (event.actor, event.action) == (front_door_api.account, AuditAction.LIST)
    assert (event.target_type, event.target_id) == ("referrals.referral", "")
    assert event.target_ids == [r.pk for r in referrals]  # in the order returned
    assert "intact" in _verify()


def test_the_queue_page_is_one_event_naming_every_row_it_shows(
    client: Client, world: World, social_worker: Any
) -> None:
    shown = _received(world, 3)
    before = _newest_id()
    assert signed_in(client, social_worker).get("/queue/").status_code == 200
    listed = AuditEvent.objects.filter(pk__gt=before, action=AuditAction.LIST)
    assert [(e.actor, e.target_type, sorted(e.target_ids or ())) for e in listed] == [
        (social_worker, "referrals.referral", sorted(r.pk for r in shown))
    ]


def test_a_list_is_one_event_per_kind_and_other_actions_one_per_record(
    world: World, dsl: Any
) -> None:
    child = factories.ChildFactory.create(created_by_agency=world.riverside)
    concerns = factories.ConcernFactory.create_batch(2, agency=world.riverside, child=child)
    before = _newest_id()
    with audit_rows_last():
        audit_record_many(
            actor=dsl,
            action=AuditAction.LIST,
            targets=[concerns[1], child, concerns[0], concerns[1]],
            data={"results": 3},
        )
    listed = list(AuditEvent.objects.filter(pk__gt=before))
    assert [(e.target_type, e.target_id, e.target_ids, e.data) for e in listed] == [
        ("referrals.concern", "", [concerns[1].pk, concerns[0].pk], {"results": 3}),
        ("referrals.child", "", [child.pk], {"results": 3}),
    ]
    # A sweep's or an admin's batch carries per-record meaning: still one row per record.
    before = _newest_id()
    audit_record_many(actor=dsl, action=AuditAction.VIEW, targets=concerns)
    viewed = AuditEvent.objects.filter(pk__gt=before)
    assert [(e.target_id, e.target_ids) for e in viewed] == [(str(c.pk), None) for c in concerns]


# Who has seen this ----------------------------------------------------------------------------


def test_the_access_log_shows_every_reader_of_a_record_read_through_a_page(
    world: World, front_door_api: ApiClient, social_worker: Any, team_manager: Any
) -> None:
    referral, *others = _received(world, 3)
    assert front_door_api.get("/api/v1/referrals/").status_code == 200  # the list endpoint
    assert front_door_api.get("/api/v1/children/").status_code == 200  # the children's feed
    assert signed_in(Client(), social_worker).get("/queue/").status_code == 200
    assert signed_in(Client(), social_worker).get(f"/referrals/{referral.pk}/").status_code == 200

    page = signed_in(Client(), team_manager).get(f"/referrals/{referral.pk}/access/")
    assert page.status_code == 200
    seen = [(e.actor, e.action) for e in page.context["events"]]
    assert (front_door_api.account, AuditAction.LIST) in seen
    assert (social_worker, AuditAction.LIST) in seen
    assert (social_worker, AuditAction.VIEW) in seen
    records = {(line.what, line.record) for line in page.context["lines"]}
    assert ("Listed", f"Referral #{referral.pk}, in a list of 3") in records
    assert ("Viewed", f"Referral #{referral.pk}") in records

    # The child's log: the child listed by the feed, the referral by the list and the queue.
    child_log = signed_in(Client(), team_manager).get(f"/children/{referral.child_id}/access/")
    lines = [(line.who, line.record) for line in child_log.context["lines"]]
    assert (str(front_door_api.account), f"Child #{referral.child_id}, in a list of 3") in lines
    assert (str(social_worker), f"Referral #{referral.pk}, in a list of 3") in lines
    # The other records on those pages are not this child's: only counted.
    named = " ".join(record for _, record in lines)
    for other in others:
        assert f"Referral #{other.pk}," not in named
        assert f"Child #{other.child_id}," not in named


def test_a_list_of_records_the_reader_may_not_see_stays_out_of_a_childs_log(
    world: World, other_school_dsl: Any, team_manager: Any
) -> None:
    child = _received(world, 1)[0].child
    hidden = factories.ConcernFactory.create(agency=world.hillview, child=child)
    assert signed_in(Client(), other_school_dsl).get("/concerns/").status_code == 200
    assert audit_readers_of(target_type="referrals.concern", target_id=hidden.pk).exists()
    page = signed_in(Client(), team_manager).get(f"/children/{child.pk}/access/")
    assert page.status_code == 200
    assert other_school_dsl not in {e.actor for e in page.context["events"]}


def test_audit_readers_of_finds_single_and_listed_events_and_nothing_else(
    world: World, dsl: Any, social_worker: Any
) -> None:
    referral, other = _received(world, 2)
    viewed = audit_record(actor=dsl, action=AuditAction.VIEW, target=referral)
    listed = audit_record_many(
        actor=social_worker, action=AuditAction.LIST, targets=[other, referral]
    )
    audit_record_many(actor=social_worker, action=AuditAction.LIST, targets=[other])
    audit_record(actor=dsl, action=AuditAction.VIEW, target=other)
    # The same number for another kind of record is another record (the audit needs only
    # the kind and the id, so an unsaved child stands in for one).
    audit_record_many(actor=dsl, action=AuditAction.LIST, targets=[Child(pk=referral.pk)])
    found = audit_readers_of(target_type="referrals.referral", target_id=referral.pk)
    assert list(found) == [listed[0], viewed]  # newest first


def test_who_has_seen_this_is_an_index_lookup_on_each_path(world: World) -> None:
    """At 60,000 events the planner reads the two indexes, never the table end to end."""
    with connection.cursor() as cursor:
        # Plain rows, not a valid chain: the plan is what is measured here, not the hashes.
        cursor.execute(
            """
            INSERT INTO referrals_auditevent (created_at, actor_label, action, target_type,
                target_id, target_ids, request_id, data, previous_hash, hash)
            SELECT now(), 'system', CASE WHEN n % 2 = 0 THEN 'view' ELSE 'list' END,
                (ARRAY['referrals.referral', 'referrals.child', 'referrals.concern'])[n % 3 + 1],
                CASE WHEN n % 2 = 0 THEN (n % 20000)::text ELSE '' END,
                CASE WHEN n % 2 = 0 THEN NULL ELSE (
                    SELECT jsonb_agg((n * 7 + k) % 20000) FROM generate_series(1, 25) AS k
                ) END,
                '', '{}', repeat('0', 64), repeat('0', 64)
            FROM generate_series(1, 60000) AS n
            """
        )
        cursor.execute("ANALYZE referrals_auditevent")
        query = audit_readers_of(target_type="referrals.referral", target_id=4321)[:500]
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
    assert re.search(r"\baudit_by_target\b", plan), plan
    assert "audit_by_target_ids" in plan, plan


# The chain ------------------------------------------------------------------------------------


def _behind_the_applications_back(sql: str, params: list[Any]) -> None:
    """What an attacker with the database owner's rights can do: switch the trigger off."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE referrals_auditevent DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE referrals_auditevent ENABLE TRIGGER {TRIGGER}")


@pytest.mark.parametrize(
    ("tamper", "ids"),
    [
        ("a read hidden: an id taken out", lambda ids: json.dumps(ids[1:])),
        ("a read made up: an id put in", lambda ids: json.dumps([*ids, 999_999])),
        ("the ids swapped for others", lambda ids: json.dumps([i + 1 for i in ids])),
        ("the list emptied to NULL", lambda ids: None),
    ],
)
def test_the_chain_covers_the_id_array(
    world: World, front_door_api: ApiClient, tamper: str, ids: Any
) -> None:
    _received(world, 3)
    front_door_api.get("/api/v1/referrals/")
    audit_record(actor=front_door_api.account, action=AuditAction.VIEW, target=world.north_csc)
    assert "intact" in _verify()
    event = AuditEvent.objects.get(action=AuditAction.LIST)
    _behind_the_applications_back(
        "UPDATE referrals_auditevent SET target_ids = %s::jsonb WHERE id = %s",
        [ids(event.target_ids), event.pk],
    )
    out = StringIO()
    with pytest.raises(CommandError, match="broken in 1 place"):
        call_command("audit_verify", stdout=out, stderr=out)
    assert f"audit event {event.pk}: its contents were changed" in out.getvalue(), tamper


def test_an_id_array_put_on_a_single_record_event_breaks_the_chain(world: World, dsl: Any) -> None:
    event = audit_record(actor=dsl, action=AuditAction.VIEW, target=world.riverside)
    _behind_the_applications_back(
        "UPDATE referrals_auditevent SET target_ids = '[1]' WHERE id = %s", [event.pk]
    )
    with pytest.raises(CommandError, match="broken in 1 place"):
        _verify()


def test_events_written_before_the_id_array_keep_their_hash(world: World, dsl: Any) -> None:
    """The hash of an event without target_ids is the one written before issue 17, so the
    trail already in the table still verifies."""
    event = audit_record(actor=dsl, action=AuditAction.VIEW, target=world.riverside)
    fields = [
        event.previous_hash,
        event.created_at.astimezone(datetime.UTC).isoformat(),
        event.actor_id,
        event.actor_label,
        event.agency_id,
        str(event.action),
        event.target_type,
        event.target_id,
        event.request_id,
        event.ip_address,
        event.data,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    before = hmac.new(str(settings.AUDIT_CHAIN_KEY).encode(), canonical.encode(), hashlib.sha256)
    assert event.target_ids is None
    assert audit_event_hash(AuditEvent.objects.get(pk=event.pk)) == before.hexdigest()
    assert event.hash == before.hexdigest()


# The demo's SQLite ----------------------------------------------------------------------------

SQLITE_SCRIPT = """
import json
import django
django.setup()
from referrals.audit import audit_readers_of, audit_record, audit_record_many
from referrals.models import AuditAction, Child, Referral

# The audit needs only the kind and the id of a record: unsaved ones stand in.
audit_record_many(actor=None, action=AuditAction.LIST, targets=[Referral(pk=1), Referral(pk=2)])
audit_record_many(actor=None, action=AuditAction.LIST, targets=[Child(pk=2), Referral(pk=3)])
audit_record(actor=None, action=AuditAction.VIEW, target=Referral(pk=2))
found = audit_readers_of(target_type="referrals.referral", target_id=2)
print(json.dumps([[e.action, e.target_id, e.target_ids] for e in found]))
"""


def test_who_has_seen_this_works_on_the_demos_sqlite(tmp_path: Path) -> None:
    """SQLite has no GIN index nor `@>`: the same function reads the list events instead."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
        "DEMO_MODE": "1",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    run("manage.py", "migrate", "--no-input", "-v", "0")
    found = json.loads(run("-c", SQLITE_SCRIPT).strip().splitlines()[-1])
    assert found == [["view", "2", None], ["list", "", [1, 2]]]
    assert "The audit trail is intact" in run("manage.py", "audit_verify")
