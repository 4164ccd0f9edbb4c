"""What a submission holds while it holds the audit chain's lock, which every writer waits for."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from referrals.models import AuditAction, AuditEvent, Child, Referral
from referrals.patterns.services import child_group_locked
from tests.conftest import World
from tests.referrals.api.conftest import ApiClient
from tests.referrals.api.test_referrals import NEW_REFERRAL

# What may run between taking the chain's lock and the last audit row: the append itself.
_AUDIT_APPEND = ("SAVEPOINT", "RELEASE SAVEPOINT", "SET CONSTRAINTS", "SELECT", "INSERT INTO")


def _submit_statements(police_api: ApiClient) -> list[str]:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = police_api.post("/api/v1/referrals/", NEW_REFERRAL)
    assert response.status_code == 201, response.json()
    return [query["sql"] for query in captured.captured_queries]


def test_a_submission_appends_its_audit_rows_after_everything_else(
    police_api: ApiClient,
) -> None:
    statements = _submit_statements(police_api)
    first_lock = next(i for i, sql in enumerate(statements) if "pg_advisory_xact_lock" in sql)
    last_audit = max(i for i, sql in enumerate(statements) if "referrals_auditevent" in sql)
    under_lock = statements[first_lock : last_audit + 1]
    for sql in under_lock:
        assert sql.lstrip().startswith(_AUDIT_APPEND), sql
        if sql.lstrip().startswith(("SELECT", "INSERT INTO")):
            assert "referrals_auditevent" in sql or "pg_advisory_xact_lock" in sql, sql


def test_a_submission_audits_the_child_the_draft_and_the_submission_in_order(
    police_api: ApiClient,
) -> None:
    cache.clear()
    response = police_api.post("/api/v1/referrals/", NEW_REFERRAL)
    assert response.status_code == 201, response.json()
    referral = Referral.objects.get(pk=response.json()["id"])
    events = AuditEvent.objects.filter(
        Q(target_type="referrals.referral", target_id=str(referral.pk))
        | Q(target_type="referrals.child", target_id=str(referral.child_id))
    ).order_by("id")
    assert [(e.target_type, e.action) for e in events] == [
        ("referrals.child", AuditAction.CREATE),
        ("referrals.referral", AuditAction.CREATE),
        ("referrals.referral", AuditAction.SUBMIT),
    ]


def test_pattern_rules_lock_the_child_and_not_its_authority(world: World) -> None:
    child = Child.objects.filter(local_authority=world.northshire).first() or (
        Child.objects.create(
            first_name="Ada",
            last_name="Example",
            local_authority=world.northshire,
            created_by_agency=world.riverside,
        )
    )
    with CaptureQueriesContext(connection) as captured:
        child_group_locked(child)
    locking = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    assert locking
    assert all(sql.endswith('FOR UPDATE OF "referrals_child"') for sql in locking), locking
