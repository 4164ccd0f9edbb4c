"""Audit growth: what 10,000,000 audit events do to appending, "who has seen this" and verifying.

The events are made fast and kept, like the referral datasets: rows computed in Python with the
service's own hash (`referrals.audit.audit_event_hash`, so the verifier passes on them and a
change of the chain's format makes a new dataset), written by COPY with the table's indexes
dropped and built again afterwards, on a copy of the 10k-referral dataset (its people and
agencies are the actors). The mix: reads of one record, list pages naming 50 records, the
writes of casework, sign-ins and refusals, over a year, mostly about the referrals open at the
time (the newest), as a front door's traffic is.

python -m bench.audit generate PLANNED UPTO | status PLANNED | append EMPTY_DATABASE | readers
    | verify
"""

from __future__ import annotations

import datetime
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import django

# Ids of records scale with the trail: about ten events a referral, as at 1,000,000 referrals
# and 10,000,000 events. Of those ids, the newest OPEN_WINDOW are "open" at any moment.
EVENTS_PER_REFERRAL = 10
OPEN_WINDOW = 5_000
LIST_PAGE = 50
# The dataset's people and agencies (bench.dataset: 60,000 users, 25,000 agencies).
USERS, AGENCIES = 60_000, 25_000
SEED = 20261124
SPAN = datetime.timedelta(days=365)
# The year before the referral dataset's "now" (bench.dataset.NOW).
BEGAN = datetime.datetime(2025, 11, 23, 9, 0, tzinfo=datetime.UTC)
MARKER = "bench_audit_dataset"
WRITES = ("create", "submit", "claim", "acknowledge", "decide", "escalate", "note")


def _spec(planned: int) -> str:
    """What the dataset is: its planned size and the chain's format (a fixed event's hash)."""
    from referrals.audit import audit_event_hash

    sample = {name: None for name in _fields()} | {
        "id": 1,
        "created_at": BEGAN,
        "actor_id": 1,
        "actor_label": "",
        "action": "list",
        "target_type": "referrals.referral",
        "target_id": "",
        "request_id": "0" * 32,
        "ip_address": "10.0.0.1",
        "data": {},
        "previous_hash": "0" * 64,
    }
    if "target_ids" in sample:
        sample["target_ids"] = [1, 2]
    fingerprint = audit_event_hash(SimpleNamespace(**sample))  # type: ignore[arg-type]
    return f"planned={planned} v1 hash={fingerprint[:16]}"


def _fields() -> list[str]:
    from referrals.models import AuditEvent

    return [field.attname for field in AuditEvent._meta.concrete_fields]


def _columns() -> list[str]:
    from referrals.models import AuditEvent

    return [str(field.column) for field in AuditEvent._meta.concrete_fields]


def _rows(
    start: int, stop: int, planned: int, rng: random.Random, head: str, fields: list[str]
) -> Iterator[SimpleNamespace]:
    """Events `start` to `stop` of a trail of `planned`, chained on from `head`; each carries
    every column of the table (None where the mix sets nothing), its hash computed as
    `referrals.audit` does."""
    from referrals.audit import audit_event_hash

    lists = "target_ids" in fields
    referrals = max(planned // EVENTS_PER_REFERRAL, OPEN_WINDOW * 2)
    blank = dict.fromkeys(fields)
    for i in range(start, stop):
        # Referrals arrive through the year; the newest OPEN_WINDOW are the ones being worked.
        newest = OPEN_WINDOW + int((referrals - OPEN_WINDOW) * i / planned)
        opened = rng.randrange(newest - OPEN_WINDOW, newest) + 1
        row: dict[str, Any] = {
            **blank,
            "id": i + 1,
            "created_at": BEGAN + SPAN * i / planned,
            "actor_id": rng.randrange(USERS) + 1,
            "actor_label": "",
            "agency_id": rng.randrange(AGENCIES) + 1 if rng.random() < 0.5 else None,
            "target_id": str(opened),
            "target_type": "referrals.referral",
            "request_id": f"{rng.getrandbits(128):032x}",
            "ip_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "data": {},
        }
        roll = rng.random()
        if roll < 0.25:
            row["action"] = "list"
            first = rng.randrange(newest - OPEN_WINDOW, newest - LIST_PAGE) + 1
            if lists:
                row["target_id"] = ""
                row["target_ids"] = list(range(first, first + LIST_PAGE))
        elif roll < 0.80:
            row["action"] = "view"
            kind = rng.random()
            if kind < 0.3:
                row["target_type"] = "referrals.child"
                row["target_id"] = str(int(opened * 0.75) + 1)
            elif kind < 0.4:
                row["target_type"] = "referrals.concern"
            elif kind < 0.5:  # an older record looked up again
                row["target_id"] = str(rng.randrange(newest) + 1)
        elif roll < 0.92:
            row["action"] = rng.choice(WRITES)
            row["data"] = {"status": row["action"]}
        elif roll < 0.97:
            row["action"] = "sign_in"
            row["target_type"] = "agencies.user"
            row["target_id"] = str(row["actor_id"])
            row["data"] = {"factor": "password"}
        else:
            row["action"] = "denied"
            row["target_id"] = str(rng.randrange(referrals) + 1)
        event = SimpleNamespace(**row | {"previous_hash": head})
        event.hash = head = audit_event_hash(event)  # type: ignore[arg-type]
        yield event


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)  # ids, codes, hex and addresses: nothing COPY must escape


def generate(planned: int, upto: int) -> dict[str, Any]:
    """Fill the audit table up to `upto` events of a planned trail of `planned`: from empty, or
    on from a smaller dataset of the same plan (made by a copy of its database)."""
    from django.db import connection, transaction

    started = time.monotonic()
    spec = _spec(planned)
    fields = _fields()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (spec text, events bigint)")
        cursor.execute(f"SELECT spec, events FROM {MARKER}")
        marker = cursor.fetchone()
    if marker and marker[0] == spec and marker[1] >= upto:
        return {"events": marker[1], "made": "cached"}
    same_plan = bool(marker) and marker[0] == spec
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        # Our own rows, with valid ids: no triggers (the foreign keys' checks would queue an
        # event per row), and the indexes built once at the end rather than row by row.
        raw.execute("SET LOCAL session_replication_role = replica")
        # Events appended by the measurements since stay: the chain goes on from its head.
        raw.execute("SELECT id, hash FROM referrals_auditevent ORDER BY id DESC LIMIT 1")
        last = raw.fetchone()
        if not same_plan or last is None:
            raw.execute("TRUNCATE referrals_auditevent RESTART IDENTITY")
            last = (0, "0" * 64)
        have, head = last
        raw.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'referrals_auditevent' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        indexes = raw.fetchall()
        for name, _definition in indexes:
            raw.execute(f'DROP INDEX "{name}"')
        rng = random.Random(f"{SEED}-{have}")
        columns = ", ".join(f'"{column}"' for column in _columns())
        with raw.copy(f"COPY referrals_auditevent ({columns}) FROM STDIN") as copy:
            block: list[str] = []
            for event in _rows(have, upto, planned, rng, head, fields):
                block.append("\t".join(_copy_value(getattr(event, f)) for f in fields))
                if len(block) == 10_000:
                    copy.write("\n".join(block) + "\n")
                    block.clear()
            if block:
                copy.write("\n".join(block) + "\n")
        for _name, definition in indexes:
            raw.execute(definition)
        raw.execute(
            "SELECT setval(pg_get_serial_sequence('referrals_auditevent', 'id'), %s)",
            [max(upto, have)],
        )
        raw.execute(f"DELETE FROM {MARKER}")
        raw.execute(f"INSERT INTO {MARKER} VALUES (%s, %s)", [spec, upto])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE referrals_auditevent")
    return {"events": upto, "made": f"in {time.monotonic() - started:.0f} s"}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000, 2),
    }


def append(empty: str, runs: int = 300) -> dict[str, Any]:
    """One event appended through referrals.audit in its own transaction, as a service does
    (the chain's lock, the head's hash, the insert and the commit), to this database's trail and
    to the emptied one's (`empty`), in turn on a kept connection to each, so a load that comes
    and goes on the machine weighs on both alike."""
    from django.db import connections, transaction
    from django.db.utils import load_backend

    from agencies.models import User
    from referrals.audit import audit_record
    from referrals.models import AuditAction, AuditEvent, Referral

    actor = User.objects.filter(memberships__role="social_worker").order_by("id").first()
    referrals = list(Referral.objects.order_by("id").values_list("id", flat=True)[:runs])
    base = connections.settings["default"]
    options = {k: v for k, v in base["OPTIONS"].items() if k != "pool"}
    trails = {
        name: load_backend(base["ENGINE"]).DatabaseWrapper(
            {**base, "NAME": database, "CONN_MAX_AGE": None, "OPTIONS": options}, "default"
        )
        for name, database in (("empty", empty), ("full", base["NAME"]))
    }
    samples: dict[str, list[float]] = {name: [] for name in trails}
    for i in range(runs + 20):
        target = Referral(pk=referrals[i % len(referrals)])
        for name, trail in trails.items():
            connections["default"] = trail
            started = time.perf_counter()
            with transaction.atomic():
                audit_record(actor=actor, action=AuditAction.VIEW, target=target)
            if i >= 20:  # the first ones warm the caches
                samples[name].append(time.perf_counter() - started)
    result: dict[str, Any] = {}
    for name, trail in trails.items():
        connections["default"] = trail
        result[name] = {**_percentiles(samples[name]), "events": AuditEvent.objects.count()}
    result["ratio_p50"] = round(
        statistics.median(samples["full"]) / statistics.median(samples["empty"]), 2
    )
    return result


def readers_of(target_type: str, target_id: int) -> list[Any]:
    """ "Who has seen this record", as its access log asks: the events about it, newest first,
    at most a page of the log. `audit_readers_of` once it exists (it also finds the record in
    list events); before, the old log's query on the single-target index."""
    from referrals import audit
    from referrals.models import AuditEvent

    limit = 500
    lookup = getattr(audit, "audit_readers_of", None)
    if lookup is not None:
        events = lookup(target_type=target_type, target_id=target_id)
    else:
        events = AuditEvent.objects.filter(
            target_type=target_type, target_id=str(target_id)
        ).order_by("-id")
    return list(events.select_related("actor", "agency")[:limit])


def readers(runs: int = 200) -> dict[str, Any]:
    """The access log's lookup for referrals the trail mentions (picked by event, so a record
    seen often is picked as often as it is seen)."""
    from django.db import connection

    from referrals.models import AuditEvent

    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    rng = random.Random(SEED)
    picks = [rng.randrange(last) + 1 for _ in range(runs * 4)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT target_id, target_ids FROM referrals_auditevent WHERE id = ANY(%s) "
            "AND target_type = 'referrals.referral'",
            [picks],
        )
        found = cursor.fetchall()
    ids = [
        int(one) if one else rng.choice(json.loads(many) if isinstance(many, str) else many)
        for one, many in found
    ][:runs]
    for pk in ids[:20]:  # warm-up
        readers_of("referrals.referral", pk)
    samples, sizes = [], []
    for pk in ids:
        started = time.perf_counter()
        sizes.append(len(readers_of("referrals.referral", pk)))
        samples.append(time.perf_counter() - started)
    return {
        **_percentiles(samples),
        "lookups": len(samples),
        "events_per_record_p50": statistics.median(sizes) if sizes else 0,
        "events": last,
    }


def verify() -> dict[str, Any]:
    """`manage.py audit_verify` on the whole trail: rows a second, and the process's peak
    memory against what it held before (flat: the same growth at any size of trail)."""
    import io
    import resource

    from django.core.management import call_command

    from referrals.models import AuditEvent

    events = AuditEvent.objects.count()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = io.StringIO()
    started = time.perf_counter()
    call_command("audit_verify", stdout=out)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert "intact" in out.getvalue(), out.getvalue()
    return {
        "events": events,
        "seconds": round(seconds, 2),
        "rows_per_second": round(events / seconds),
        "rss_before_mb": round(before / 1024, 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "growth_mb": round((peak - before) / 1024, 1),
    }


def status(planned: int) -> dict[str, Any]:
    """Whether this database holds events of this plan (and the chain's format), and how many."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER} (spec text, events bigint)")
        cursor.execute(f"SELECT spec, events FROM {MARKER}")
        marker = cursor.fetchone()
    same = bool(marker) and marker[0] == _spec(planned)
    return {"same_plan": same, "events": marker[1] if same else 0}


COMMANDS = {
    "generate": lambda: generate(int(sys.argv[2]), int(sys.argv[3])),
    "status": lambda: status(int(sys.argv[2])),
    "append": lambda: append(sys.argv[2]),
    "readers": readers,
    "verify": verify,
}


def main() -> None:
    django.setup()
    print(json.dumps(COMMANDS[sys.argv[1]]()))


if __name__ == "__main__":
    main()
