"""The bench's table: each figure now, next to the previous run's."""

from __future__ import annotations

from typing import Any

from bench import report


def _results(p50: float, **more: Any) -> dict[str, Any]:
    return {
        "referrals": 1_000_000,
        "queue_10k": {"p50_ms": p50, "p95_ms": p50 + 3, "queries": 12},
        **more,
    }


def _line(table: str, name: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {name} |"))


def test_it_shows_the_previous_figure_next_to_the_new_one() -> None:
    table = report.table(_results(30.0), _results(34.0))

    line = _line(table, "Queue page (50 rows), 10k referrals")
    assert line == (
        "| Queue page (50 rows), 10k referrals | p50 30.0 ms, p95 33.0 ms, 12 queries "
        "| p50 34.0 ms, p95 37.0 ms, 12 queries |  |"
    )


def test_a_figure_a_run_did_not_measure_is_a_dash() -> None:
    mixed = {
        "per_second": 120.5,
        "seconds": 60.0,
        "errors": 0,
        "kinds": {
            kind: {"per_second": 1.0, "p50_ms": 10.0, "p95_ms": 20.0, "errors": 0}
            for kind in ("queue", "referral", "submission")
        },
    }
    table = report.table(_results(30.0, mixed=mixed), None)

    assert _line(table, "Mixed load, 50 clients: all requests") == (
        "| Mixed load, 50 clients: all requests | 120.5/s over 60.0 s, 0 errors | - | 0 errors |"
    )
    assert _line(table, "Sweep of 100,000 overdue referrals").split(" | ")[1:3] == ["-", "-"]


def test_it_reads_the_submissions_of_both_loads() -> None:
    by_wrk = {"http": {"per_second": 36.9, "p50_ms": 900, "p95_ms": 4000.0, "errors": 0}}
    by_python = {
        "http": {
            "kinds": {
                "submission": {"per_second": 80.0, "p50_ms": 200, "p95_ms": 300.0, "errors": 1}
            }
        }
    }

    line = _line(
        report.table(_results(1.0, **by_python), _results(1.0, **by_wrk)),
        "API submissions, 50 clients",
    )

    assert "| 80.0/s, p50 200 ms, p95 300.0 ms, 1 errors |" in line
    assert "| 36.9/s, p50 900 ms, p95 4000.0 ms, 0 errors |" in line


def test_a_partial_run_leaves_out_what_it_did_not_measure() -> None:
    table = report.table(_results(30.0), _results(34.0), partial=True)

    assert len(table.splitlines()) == 3  # the header, its rule and the one figure measured
    assert "Queue page (50 rows), 10k referrals" in table
