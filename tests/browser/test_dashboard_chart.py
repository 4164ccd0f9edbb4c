"""Issue 15 in Debian's Chromium: the dashboard's charts are tables with a bar per row and the
label in a column of its own, so however long the labels are, none overlaps another or a bar
and none is clipped, at desktop width and at 320 px; the bars are as long as their numbers say;
the page passes axe with no violation at all."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from referrals.casework import reports
from tests import factories
from tests.conftest import World, axe_violations, sign_in

pytestmark = pytest.mark.browser

LONG_LABELS = (
    "Section 47 enquiry and a strategy discussion with the police and health, the same day",
    "Supercalifragilisticexpialidociousandevenlongerwordsthatcannotbreakatanyspace",
    "No further action",
    "Early help assessment offered to the family through the school's family support worker",
)

# For each chart: the rectangles of its labels and bars, and whether a label's text is cut off.
MEASURE = """chart => {
  const box = el => { const r = el.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width}; };
  const rows = [...chart.querySelectorAll("tbody tr")];
  return rows.map(row => {
    const label = row.querySelector("th");
    return {
      text: label.textContent.trim(),
      label: box(label),
      bar: box(row.querySelector(".app-bar-chart__bar")),
      track: box(row.querySelector(".app-bar-chart__track")),
      clipped: label.scrollWidth > label.clientWidth || label.scrollHeight > label.clientHeight,
    };
  });
}"""


def _overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def _check_chart(page: Any, chart_id: str, values: list[int]) -> None:
    rows = page.locator(f"#{chart_id}").evaluate(MEASURE)
    assert len(rows) == len(values)
    for i, row in enumerate(rows):
        assert not row["clipped"], row["text"]
        assert row["label"]["right"] <= row["track"]["left"], row["text"]  # the label is left
        for other in rows[i + 1 :]:
            assert not _overlap(row["label"], other["label"]), (row["text"], other["text"])
        for other in rows:
            assert not _overlap(row["label"], other["track"]), (row["text"], other["text"])
    widest = max(values)
    track = rows[0]["track"]["width"]
    for row, value in zip(rows, values, strict=True):
        # As long as its number says, to a whole percent of the track.
        assert abs(row["bar"]["width"] - track * value / widest) <= track / 100 + 1, row["text"]


def test_long_labels_never_overlap_or_clip_at_any_width(
    page: Any, world: World, team_manager: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = [7, 3, 12, 1]

    def outcomes(referrals: Any, *, since: datetime.datetime) -> reports.Chart:
        bars = [
            reports.Bar(label=label, value=value)
            for label, value in zip(LONG_LABELS, values, strict=True)
        ]
        return reports.Chart(title="Outcomes this month", bars=bars)

    # The live server runs in this process: the dashboard draws these labels.
    monkeypatch.setattr(reports, "_outcomes", outcomes)
    factories.SubmittedReferralFactory.create(team=world.front_door)
    sign_in(page, team_manager)
    page.goto("/dashboard/")
    outcomes_table = page.get_by_role("table", name="Outcomes this month")
    expect(outcomes_table).to_be_visible()
    expect(outcomes_table.get_by_role("rowheader")).to_have_text(list(LONG_LABELS))
    per_day = [0] * 13 + [1]  # the referral arrived today
    for width in (1280, 640, 320):
        page.set_viewport_size({"width": width, "height": 900})
        _check_chart(page, "outcomes-chart", values)
        _check_chart(page, "received-chart", per_day)
        for chart in ("#outcomes-chart", "#received-chart"):
            # Neither chart is wider than the screen (the page's own reflow: test_reflow_crawl).
            right = page.locator(chart).evaluate("t => t.getBoundingClientRect().right")
            assert right <= width, (chart, width)
    assert axe_violations(page) == []


def test_screen_readers_get_the_numbers_not_the_bars(
    page: Any, world: World, team_manager: Any
) -> None:
    decided = factories.DecidedReferralFactory.create(team=world.front_door)
    factories.DecisionFactory.create(referral=decided, outcome="s17")
    sign_in(page, team_manager)
    page.goto("/dashboard/")
    table = page.get_by_role("table", name="Outcomes this month")
    row = table.get_by_role("row", name="Section 17 child in need assessment")
    expect(row.get_by_role("cell")).to_have_text("1")
    expect(row.locator(".app-bar-chart__track")).to_have_attribute("aria-hidden", "true")
    assert axe_violations(page) == []
