"""What the lists share: the posted search and filters, and keyset pages that say their limit.

The search box may hold a child's name, so the form is posted and never sent as a GET. A valid
post redirects to the list's address: the filters that are not personal data (status, urgency,
dates, owner, order...) as query parameters, so a list can be linked and the home page's cards
link to filtered lists, and the search under `?search=<opaque key>`, the term itself kept in the
session. An unknown key (another session's, or one dropped) searches for nothing and says so.

A list shows at most LIST_PAGE_SIZE rows a page, in keyset pages (the triage queue keeps its
own, of its own size), and says how many there are in all, counting no further than
COUNT_CAP: so a card's count matches what the list can show, and nothing counts a whole table.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.http import urlencode

from referrals.casework.listing import COUNT_CAP, Order, count_upto, keyset_page, order_of
from referrals.web.forms.lists import ListFilterForm, form_data
from safeguarding.http import AuthenticatedHttpRequest

LIST_PAGE_SIZE = 100
# Searches are kept in the session under an opaque key: {key: term}, the newest last.
SEARCHES_SESSION_KEY = "list_searches"
SEARCHES_KEPT = 20


def search_remember(request: AuthenticatedHttpRequest, term: str) -> str:
    """Keep a search term in the session; the opaque key a URL may carry instead of it."""
    searches: dict[str, str] = dict(request.session.get(SEARCHES_SESSION_KEY, {}))
    key = secrets.token_urlsafe(12)
    searches[key] = term
    request.session[SEARCHES_SESSION_KEY] = dict(list(searches.items())[-SEARCHES_KEPT:])
    return key


def search_recall(request: AuthenticatedHttpRequest) -> tuple[str, str]:
    """The request's search key and the term kept under it ("" when unknown)."""
    key = request.GET.get("search", "")
    searches = request.session.get(SEARCHES_SESSION_KEY, {}) if key else {}
    return key, str(searches.get(key, ""))


def list_url(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


@dataclass
class Filtering:
    """A list's search and filters as this request asks: the form to show, or where to go."""

    form: ListFilterForm
    search: str  # the term, from the session
    search_key: str  # the opaque key of it in the URL ("" when none)
    expired: bool = False  # the URL names a search this session does not hold
    redirect: HttpResponse | None = None

    def context(self, filters: Any) -> dict[str, Any]:
        """What a list's page shows of them: the form, the search, `filters` and whether any
        filter is applied (`filtered`)."""
        return {
            "form": self.form,
            "filtering": self,
            "filters": filters,
            "filtered": bool(filters.query()),
        }

    def query(self, filters: dict[str, str]) -> dict[str, str]:
        """The list's address: its filters and the search's key."""
        return {**filters, "search": self.search_key} if self.search else dict(filters)


def list_filtering(
    request: AuthenticatedHttpRequest,
    form_class: Callable[..., ListFilterForm],
    read: Callable[[str], Any],
    **form_kwargs: Any,
) -> tuple[Filtering, Any]:
    """The posted form, valid: a redirect to the list's address. Otherwise the filters from the
    query string and the kept search (`read(search)` makes them) with the form showing them,
    or showing the errors of the post."""
    key, term = search_recall(request)
    filters = read(term)
    if request.method == "POST":
        posted = form_class(request.POST, **form_kwargs)
        if posted.is_valid():
            query = posted.query()
            search = posted.cleaned_data["search"].strip()
            if search:
                query["search"] = search_remember(request, search)
            return Filtering(
                posted, search, key, redirect=redirect(list_url(request.path, query))
            ), filters
        return Filtering(posted, term, key), filters
    form = form_class(form_data(filters.query(), term), **form_kwargs)
    form.is_valid()
    return Filtering(form, term, key, expired=bool(key) and not term), filters


@dataclass(frozen=True)
class ListPage:
    rows: list[Any]
    total: int  # counted no further than COUNT_CAP + 1
    first: int  # the position of the first row shown, from 1 (0 when there are none)
    last: int
    first_url: str = ""  # on a later page: back to the first
    next_url: str = ""

    @property
    def total_label(self) -> str:
        """The count as the page says it: "345", or "more than 1,000" when it reached the cap."""
        return f"more than {COUNT_CAP:,}" if self.total > COUNT_CAP else f"{self.total:,}"


def list_page(
    request: AuthenticatedHttpRequest,
    queryset: QuerySet[Any],
    *,
    query: dict[str, str],
    order: Order | None = None,
    paged: bool = True,
) -> ListPage:
    """The page of `queryset` the request asks for (`?after=`), with links on and back.

    `query` names the list (its filters and search), kept in the links; a list shown without its
    filter beside another one (`paged=False`) shows its first page, its link on leads to the
    list alone. Without an `order`, the queryset's own.
    """
    page = keyset_page(
        queryset,
        order=order or order_of(queryset),
        after=request.GET.get("after", "") if paged else "",
        size=LIST_PAGE_SIZE,
    )
    return ListPage(
        rows=page.rows,
        total=count_upto(queryset, COUNT_CAP),
        first=page.first,
        last=page.last,
        first_url="" if page.is_first else list_url(request.path, query),
        next_url=list_url(request.path, {**query, "after": page.next_cursor})
        if page.next_cursor
        else "",
    )
