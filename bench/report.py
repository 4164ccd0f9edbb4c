"""The bench's table: each figure now, the same figure from the previous results.json, and its
target, as Markdown (so it pastes into the README as it is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Figure = Callable[[dict[str, Any]], str]
NOT_MEASURED = "-"


def _queue(key: str) -> Figure:
    return lambda r: (
        f"p50 {r[key]['p50_ms']} ms, p95 {r[key]['p95_ms']} ms, {r[key]['queries']} queries"
    )


def _api(r: dict[str, Any]) -> str:
    api = r["api"]
    return (
        f"API p50 {api['api']['p50_ms']} ms, raw p50 {api['raw']['p50_ms']} ms, "
        f"ratio {api['ratio_p50']}, {api['queries']} queries"
    )


def _prepared(r: dict[str, Any]) -> str:
    def one(page: str) -> str:
        figures = r["prepared"][page]
        variants = ("server_binding_prepared", "prepared_custom_plans")
        ratios = "/".join(str(figures[v]["ratio_p50"]) for v in variants)
        return f"{page} p50 {figures['client_binding']['p50_ms']} ms x{ratios}"

    return f"{one('api')}; {one('queue')}"


def _sweep(r: dict[str, Any]) -> str:
    sweep = r["sweep_100k"]
    return f"{sweep['overdue']:,} overdue in {sweep['seconds']} s, {sweep['duplicates']} duplicates"


def _submissions(r: dict[str, Any]) -> str:
    http = r["http"]
    if "skipped" in http:
        return str(http["skipped"])
    if "kinds" in http:  # the Python load's shape
        http = {**http, **http["kinds"]["submission"]}
    return (
        f"{http['per_second']}/s, p50 {http['p50_ms']} ms, p95 {http['p95_ms']} ms, "
        f"{http['errors']} errors" + _warming(http)
    )


def _warming(load: dict[str, Any]) -> str:
    """Errors while the server warmed up are not in the figures, but are not hidden either."""
    errors = load.get("warmup", {}).get("errors", 0)
    return f" (and {errors} while warming up)" if errors else ""


def _mixed_total(r: dict[str, Any]) -> str:
    mixed = r["mixed"]
    return (
        f"{mixed['per_second']}/s over {mixed['seconds']} s, {mixed['errors']} errors"
        + _warming(mixed)
    )


def _mixed_kind(kind: str) -> Figure:
    def figure(r: dict[str, Any]) -> str:
        one = r["mixed"]["kinds"][kind]
        return (
            f"{one['per_second']}/s, p50 {one['p50_ms']} ms, p95 {one['p95_ms']} ms, "
            f"{one['errors']} errors"
        )

    return figure


def _append(key: str) -> Figure:
    return lambda r: (
        f"p50 {r['audit'][key]['p50_ms']} ms, p95 {r['audit'][key]['p95_ms']} ms "
        f"({r['audit'][key]['events']:,} events)"
    )


def _readers(r: dict[str, Any]) -> str:
    readers = r["audit"]["readers"]
    return (
        f"p50 {readers['p50_ms']} ms, p95 {readers['p95_ms']} ms "
        f"({readers['events_per_record_p50']} events a record)"
    )


def _verify(key: str) -> Figure:
    return lambda r: (
        f"{r['audit'][key]['rows_per_second']:,} rows/s over {r['audit'][key]['events']:,}, "
        f"peak RSS {r['audit'][key]['peak_rss_mb']} MB (+{r['audit'][key]['growth_mb']} MB)"
    )


def _scans(r: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v['seq_scans_of_referrals']}" for k, v in r["explain"].items())


def rows(r: dict[str, Any]) -> list[tuple[str, Figure, str]]:
    """(what, its figure from a results dict, target): the table's rows, in order."""
    size = f"{r.get('referrals', 0):,}"
    events = f"{r.get('audit', {}).get('rows', 0):,}"
    return [
        ("Queue page (50 rows), 10k referrals", _queue("queue_10k"), ""),
        (f"Queue page (50 rows), {size} referrals", _queue("queue_large"), "p50 <= 50 ms"),
        ("Queue ratio large/10k (p50)", lambda r: str(r["queue_ratio_p50"]), "<= 1.3"),
        ("API list page (100 rows) vs raw fetch + json.dumps", _api, "<= 3x"),
        ("Prepared statements: client binding p50, x prepared / x prepared with custom plans",
         _prepared, "a win to keep"),
        ("Sweep of 100,000 overdue referrals", _sweep, "<= 20 s, 0 duplicates"),
        (f"Empty sweep over {size}", lambda r: f"p50 {r['empty_sweep']['p50_ms']} ms", "<= 10 ms"),
        ("API submissions, 50 clients", _submissions, ">= 100/s, p95 <= 250 ms, 0 errors"),
        ("Mixed load, 50 clients: all requests", _mixed_total, "0 errors"),
        ("Mixed: queue pages (70%)", _mixed_kind("queue"), "p95 <= 300 ms"),
        ("Mixed: referral pages (20%)", _mixed_kind("referral"), "p95 <= 300 ms"),
        ("Mixed: API submissions (10%)", _mixed_kind("submission"), "p95 <= 300 ms"),
        ("Audit append, empty trail", _append("append_empty"), ""),
        (f"Audit append, {events} events", _append("append_full"), ""),
        ("Audit append ratio full/empty (p50)", lambda r: str(r["audit"]["append_ratio_p50"]),
         "<= 1.2"),
        (f"Who has seen this record, {events} events", _readers, "p50 <= 20 ms"),
        ("audit_verify, a tenth of the events", _verify("verify_tenth"), ">= 100,000 rows/s"),
        (f"audit_verify, {events} events", _verify("verify_full"),
         ">= 100,000 rows/s, memory flat"),
        ("Sequential scans of referrals (queue, API, sweep)", _scans, "0"),
    ]  # fmt: skip


def figure(make: Figure, results: dict[str, Any] | None) -> str:
    """A figure from a results dict, or "-" where that run did not measure it."""
    if not results:
        return NOT_MEASURED
    try:
        return make(results)
    except (KeyError, TypeError, ZeroDivisionError):
        return NOT_MEASURED


def table(now: dict[str, Any], before: dict[str, Any] | None, *, partial: bool = False) -> str:
    """The Markdown table: what, now, before (the previous results.json), target. A partial
    run leaves out the rows it did not measure."""
    lines = ["| figure | now | before | target |", "| --- | --- | --- | --- |"]
    for name, make, target in rows(now):
        current = figure(make, now)
        if partial and current == NOT_MEASURED:
            continue
        lines.append(f"| {name} | {current} | {figure(make, before)} | {target} |")
    return "\n".join(lines)
