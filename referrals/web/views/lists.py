"""Numbered pages for the lists the home page's cards open: a limit that says so, and a link on.

A list shows at most LIST_PAGE_SIZE rows a page, and says how many there are in all, so a card's
count always matches what the list can show (the triage queue keeps its own keyset pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.http import urlencode

from safeguarding.http import AuthenticatedHttpRequest

LIST_PAGE_SIZE = 100


@dataclass(frozen=True)
class ListPage:
    rows: list[Any]
    total: int
    first: int  # the position of the first row shown, from 1 (0 when there are none)
    last: int
    previous_url: str = ""
    next_url: str = ""


def list_page(
    request: AuthenticatedHttpRequest,
    queryset: QuerySet[Any],
    *,
    query: dict[str, str],
    paged: bool = True,
) -> ListPage:
    """The page of `queryset` the request asks for (`?page=`), with links to its neighbours.

    `query` names the list (its filters), kept in the links; a list shown without its filter
    beside another one (`paged=False`) shows its first page, its link on leads to the list alone.
    """
    number = request.GET.get("page") if paged else 1
    page = Paginator(queryset, LIST_PAGE_SIZE).get_page(number)

    def url(to: int) -> str:
        return f"{request.path}?{urlencode({**query, 'page': str(to)})}"

    return ListPage(
        rows=list(page.object_list),
        total=page.paginator.count,
        first=page.start_index(),
        last=page.end_index(),
        previous_url=url(page.previous_page_number()) if page.has_previous() else "",
        next_url=url(page.next_page_number()) if page.has_next() else "",
    )
