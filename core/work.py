"""The "My work" page: each app registers the queues it owns (core imports no app).

A provider is ``fn(user) -> list[WorkQueue]``; release, qc_records, … register theirs in their
AppConfig.ready(). Queues list items oldest first with their due dates (R-UX-3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from django.db import connections
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe


@dataclass
class WorkItem:
    title: str
    url: str
    since: datetime | date | None = None
    due: datetime | date | None = None
    note: str = ""

    # Formatted here, not by the template's ``date`` filter: a QA reviewer's page shows 110 items,
    # and the filter took ~6 ms for their 220 dates against ~1 ms for strftime (issue 12).
    @property
    def since_text(self) -> str:
        return _day(self.since, "%Y-%m-%d %H:%M")

    @property
    def due_text(self) -> str:
        return _day(self.due, "%Y-%m-%d")


def _day(value: datetime | date | None, with_time: str) -> str:
    """A datetime in the site's zone as ``with_time``; a date as YYYY-MM-DD; nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(with_time)
    return value.strftime("%Y-%m-%d")


@dataclass
class WorkQueue:
    key: str
    title: str | Promise
    items: list[WorkItem] = field(default_factory=list)
    total: int | PendingCount = 0  # an int once queues_for has returned
    more_than_total: bool = False  # the total is COUNT_CAP and there are more
    more_url: str = ""
    empty_text: str | Promise = ""

    def rows_html(self) -> SafeString:
        """The queue's table rows, every value escaped (``html.escape``, as Django's ``escape``).
        Built here, not by a template loop or ``format_html``: a QA reviewer's page has ~80 rows
        of five values, which took the template engine ~4 ms and ``format_html`` ~3 ms to render
        against ~0.5 ms here (issue 12)."""
        return mark_safe(  # noqa: S308  every value below is escaped
            "\n".join(
                f'<tr><td><a href="{escape(i.url)}">{escape(str(i.title))}</a></td><td>{escape(i.since_text)}</td>'
                f'<td>{escape(i.due_text or "—")}</td><td class="text-muted small">{escape(str(i.note))}</td></tr>'
                for i in self.items
            )
        )


# A queue shows its oldest ten (the badge says how many wait, "Show all" opens the list): work is
# taken oldest first, and a QA reviewer's eleven queues of twenty rows each were a page of 220 rows
# costing ~10 ms of building and rendering more than the same page of ten-row queues (issue 12).
QUEUE_LENGTH = 10


class PendingCount:
    """The total of a queue longer than it shows, counted by ``queues_for`` together with every
    other long queue of the page in one query (a queue per count would add a query per full queue)."""

    def __init__(self, queryset: QuerySet) -> None:
        self.queryset = queryset


def first_items(queryset: QuerySet, length: int = QUEUE_LENGTH) -> tuple[list, int | PendingCount]:
    """The first ``length`` rows of a queue and its total.

    One query for a short queue (its total is its length). A full queue's total is a
    ``PendingCount`` that ``queues_for`` resolves with the other full queues' in one more query, so
    the page costs one query per queue plus one, however many queues are full (R-PERF-1).
    """
    items = list(queryset[:length])
    if len(items) < length:
        return items, len(items)
    return items, PendingCount(queryset)


# A queue's total is counted up to this many: "1000+" tells a person as much as an exact count of a
# backlog, and the count's cost stays bounded whatever the backlog (issue 12).
COUNT_CAP = 1000


def count_together(querysets: list[QuerySet], cap: int | None = None) -> list[int]:
    """``[qs.count() for qs in querysets]`` in one query (one scalar subquery per queryset).
    With ``cap``, a count stops at ``cap + 1`` (more than ``cap``)."""
    if not querysets:
        return []
    selects, params = [], []
    limit = f" LIMIT {int(cap) + 1}" if cap is not None else ""
    for i, qs in enumerate(querysets):
        sql, qs_params = qs.order_by().values("pk").query.get_compiler(using=qs.db).as_sql()
        selects.append(f"(SELECT COUNT(*) FROM ({sql}{limit}) AS counted_{i})")
        params.extend(qs_params)
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selects), params)
        return [int(n) for n in cursor.fetchone()]


_providers: list[Callable[[Any], list[WorkQueue]]] = []


def register(provider: Callable[[Any], list[WorkQueue]]) -> Callable[[Any], list[WorkQueue]]:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def queues_for(user: Any) -> list[WorkQueue]:
    queues: list[WorkQueue] = []
    for provider in _providers:
        queues.extend(provider(user))
    pending = [q for q in queues if isinstance(q.total, PendingCount)]
    counted = count_together([q.total.queryset for q in pending], cap=COUNT_CAP)
    for queue, total in zip(pending, counted, strict=True):
        queue.total, queue.more_than_total = min(total, COUNT_CAP), total > COUNT_CAP
    return queues
