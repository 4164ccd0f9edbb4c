"""Identity matching at scale: a new child against 1,000,000 known children, p50 and p95.

    python -m bench.matching                     # a throwaway PostgreSQL, 1,000,000 children
    BENCH_CHILDREN=100000 python -m bench.matching
    BENCH_MATCHING_DATABASE_URL=postgres://... python -m bench.matching   # an existing, empty DB

It starts its own PostgreSQL cluster the way the tests do (tests/bin/pg_ctl, a temporary
folder, durability off), migrates, loads the children with COPY (the trigram index is built
after the load, as a restore would), ANALYZEs, then times
`referrals.children.matching.child_matches` over the whole authority for messy searches
(nicknames, typos, swapped names, double-barrelled surnames, day/month swaps) and reports
p50/p95 and how often the right child came first.
Not part of the test suite.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_CTL = ROOT / "tests" / "bin" / "pg_ctl"
CHILDREN = int(os.environ.get("BENCH_CHILDREN", "1000000"))
SEARCHES = int(os.environ.get("BENCH_SEARCHES", "300"))


def _words(text: str) -> list[str]:
    return text.split()


FIRST = _words(
    "Oliver George Harry Noah Jack Leo Arthur Muhammad Oscar Charlie Jacob Thomas Henry William "
    "Alfie Joshua Freddie Archie Theo Isaac James Lucas Max Ethan Mohammed Daniel Samuel Joseph "
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Willow Freya Florence Emily "
    "Ella Poppy Evie Elsie Charlotte Aisha Fatima Zainab Priya Anjali Oluwaseun Chloe Ruby Sienna "
    "Jessica Daisy Phoebe Matilda Harper Eva Sofia Layla Maya Hannah Amber Ellie Maisie Erin "
    "John Robert Michael Christopher Alexander Benjamin Elizabeth Katherine Rebecca Abigail Yusuf "
    "Ibrahim Ryan Dylan Kai Ezra Finley Reuben Tommy Louie Albert Ronnie Jude Hugo Frankie Elijah"
)
LAST = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali "
    "Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur "
    "Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks "
    "West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton Obrien Watts Rose Booth "
    "Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter"
)
NICKNAMES = {
    "John": "Jon",
    "Muhammad": "Mohammed",
    "Mohammed": "Muhammad",
    "William": "Billy",
    "Thomas": "Tom",
    "James": "Jamie",
    "Alexander": "Alex",
    "Elizabeth": "Beth",
    "Katherine": "Kate",
    "Daniel": "Danny",
    "Samuel": "Sam",
    "Joseph": "Joe",
    "Benjamin": "Ben",
    "Charlotte": "Lottie",
    "Rebecca": "Becky",
    "Abigail": "Abby",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_ctl(*args: str) -> None:
    subprocess.run([str(PG_CTL), *args], check=True, stdout=subprocess.DEVNULL)


class Cluster:
    """A throwaway PostgreSQL cluster, as the tests start one."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="bench-matching-"))
        self.data = self.base / "data"
        self.port = _free_port()

    def __enter__(self) -> str:
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.data, "postgres", "postgres")
        _pg_ctl("initdb", "-D", str(self.data), "-o", "--auth=trust --username=postgres")
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=512MB -c maintenance_work_mem=512MB -c work_mem=16MB "
            "-c random_page_cost=1.1"
        )
        _pg_ctl("start", "-w", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"))
        subprocess.run(
            [
                "runuser" if os.geteuid() == 0 else "env",
                *(["-u", "postgres", "--"] if os.geteuid() == 0 else []),
                "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "bench_matching",
            ],
            check=True,
        )
        return f"postgres://postgres@127.0.0.1:{self.port}/bench_matching"

    def __exit__(self, *exc: object) -> None:
        _pg_ctl("stop", "-m", "immediate", "-D", str(self.data))
        shutil.rmtree(self.base, ignore_errors=True)


def _setup_django(database_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "safeguarding.settings",
            "DATABASE_URL": database_url,
            "SECRET_KEY": "bench-only-" + "x" * 40,
            "DEMO_MODE": "0",
            "LOG_LEVEL": "ERROR",
            "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
        }
    )
    import django

    django.setup()


def _people(rng: random.Random, count: int) -> Iterator[tuple[str, str, datetime.date, str]]:
    start = datetime.date(2007, 1, 1).toordinal()
    for _ in range(count):
        last = rng.choice(LAST)
        if rng.random() < 0.05:
            last = f"{last}-{rng.choice(LAST)}"
        postcode = f"NS{rng.randint(1, 99)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        postcode += rng.choice("ABDEFGHJLNPQRSTUWXYZ")
        born = datetime.date.fromordinal(start + rng.randint(0, 18 * 365))
        yield rng.choice(FIRST), last, born, postcode


def load(count: int) -> tuple[Any, int]:
    """The authority and its children, loaded with COPY; returns (authority, agency id)."""
    from django.db import connection
    from django.utils import timezone

    from agencies.models import Agency, LocalAuthority
    from referrals.core.match_keys import match_keys

    authority = LocalAuthority.objects.create(name="Benchshire", ons_code="E06000999")
    agency = Agency.objects.create(name="Bench School", kind="school", local_authority=authority)
    rng = random.Random(9)
    now = timezone.now().isoformat()
    columns = (
        "first_name, last_name, other_names, date_of_birth, sex, address, postcode, nhs_number, "
        "upn, local_authority_id, created_by_agency_id, match_first, match_last, match_name, "
        "match_postcode, created_at, updated_at"
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        # Built after the load, as a restore would: much faster than maintaining it per row.
        cursor.execute("DROP INDEX IF EXISTS child_match_name_trgm")
        raw = cursor.cursor
        with raw.copy(f"COPY referrals_child ({columns}) FROM STDIN") as copy:
            for first, last, born, postcode in _people(rng, count):
                keys = match_keys(first_name=first, last_name=last, postcode=postcode)
                copy.write_row(
                    (first, last, "", born, "unknown", "", postcode, "", "", authority.pk,
                     agency.pk, *keys, now, now)
                )  # fmt: skip
        loaded = time.monotonic() - started
        cursor.execute(
            "CREATE INDEX child_match_name_trgm ON referrals_child "
            "USING gin (match_name gin_trgm_ops)"
        )
        cursor.execute("ANALYZE referrals_child")
    print(
        f"loaded {count:,} children in {loaded:.0f} s; indexed in "
        f"{time.monotonic() - started - loaded:.0f} s",
        file=sys.stderr,
    )
    return authority, agency.pk


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randint(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two letters swapped


def _messy(rng: random.Random, child: Any) -> tuple[str, Any]:
    """A search for `child` as someone in another agency might type it."""
    from referrals.children.matching import MatchQuery

    first, last, born = child.first_name, child.last_name, child.date_of_birth
    kind = rng.choice(["nickname", "typo", "swapped names", "hyphen", "day/month", "exact"])
    postcode = child.postcode if rng.random() < 0.5 else ""
    if kind == "nickname":
        first = NICKNAMES.get(first, _typo(rng, first))
    elif kind == "typo":
        last = _typo(rng, last)
    elif kind == "swapped names":
        first, last = last, first
    elif kind == "hyphen":
        last = last.split("-")[-1] if "-" in last else f"{rng.choice(LAST)}-{last}"
    elif kind == "day/month" and born.day <= 12 and born.day != born.month:
        born = born.replace(day=born.month, month=born.day)
    return kind, MatchQuery(first, last, born, postcode)


def measure(authority: Any) -> dict[str, Any]:
    from referrals.children.matching import child_matches
    from referrals.models import Child

    rng = random.Random(21)
    children = Child.objects.filter(local_authority=authority, merged_into__isnull=True)
    top = children.order_by("pk").values_list("pk", flat=True)
    first_pk, last_pk = top.first(), top.last()
    if first_pk is None or last_pk is None:
        raise SystemExit("No children were loaded.")
    timings: list[float] = []
    first_place = 0
    offered = 0
    for i in range(SEARCHES + 20):
        child = Child.objects.get(pk=rng.randint(first_pk, last_pk))
        _kind, query = _messy(rng, child)
        started = time.perf_counter()
        matches = child_matches(children=children, query=query)
        elapsed = (time.perf_counter() - started) * 1000
        if i < 20:
            continue  # warm the caches first
        timings.append(elapsed)
        ids = [m.child.pk for m in matches]
        offered += child.pk in ids
        # Namesakes with the same birthday can tie; the right child among the best counts.
        first_place += bool(matches) and any(
            m.child.pk == child.pk for m in matches if m.score == matches[0].score
        )
    timings.sort()
    return {
        "children": children.count(),
        "searches": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 1),
        "max_ms": round(timings[-1], 1),
        "right_child_first": round(first_place / len(timings), 3),
        "right_child_offered": round(offered / len(timings), 3),
    }


def run(database_url: str) -> dict[str, Any]:
    _setup_django(database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    authority, _agency = load(CHILDREN)
    return measure(authority)


def main() -> None:
    url = os.environ.get("BENCH_MATCHING_DATABASE_URL")
    if url:
        result = run(url)
    else:
        with Cluster() as url:
            result = run(url)
    print(
        f"matching against {result['children']:,} children, {result['searches']} searches: "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms; "
        f"right child first {result['right_child_first']:.1%}, "
        f"offered {result['right_child_offered']:.1%}"
    )
    print(json.dumps({"matching": result}))


if __name__ == "__main__":
    main()
