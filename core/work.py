"""The "My work" page: each app registers the queues it owns (core imports no app).

A provider is ``fn(user) -> list[WorkQueue]``; release, qc_records, … register theirs in their
AppConfig.ready(). A queue is declared by its rows (an ordered queryset) and a function making an
item of a row; ``queues_for`` counts them all and reads only the ones with rows. Queues list items
oldest first with their due dates (R-UX-3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from django.core.exceptions import EmptyResultSet
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
    total: int = 0  # a queue declared by its rows: set by queues_for
    more_than_total: bool = False  # the total is COUNT_CAP and there are more
    more_url: str = ""
    empty_text: str | Promise = ""
    # A queue declared by its rows (an ordered, unevaluated queryset) and what makes an item of a
    # row: ``queues_for`` counts it with every other queue of the page in one query and reads its
    # first rows only when it has some (issue 12: half a QA reviewer's fourteen queues are
    # usually empty, and a queue's query cost ~2.5 ms whether it found rows or not).
    rows: QuerySet | None = None
    item: Callable[[Any], WorkItem] | None = None
    hide_empty: bool = False  # shown only while it holds something (a person's own drafts)

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
        try:
            sql, qs_params = qs.order_by().values("pk").query.get_compiler(using=qs.db).as_sql()
        except EmptyResultSet:  # none() or ``__in=[]`` (a QP designated for no product): nothing to count
            selects.append("0")
            continue
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
    """Every queue of ``user``'s page: one query counts every queue declared by its rows (each up
    to COUNT_CAP + 1), then one query per queue that has rows reads its first QUEUE_LENGTH
    (R-PERF-1: the page costs one query per non-empty queue, plus one). A provider may also give
    a queue its items and total itself (recall tasks overdue: computed, not a queryset)."""
    queues: list[WorkQueue] = []
    for provider in _providers:
        queues.extend(provider(user))
    deferred = [q for q in queues if q.rows is not None]
    counted = count_together([q.rows for q in deferred], cap=COUNT_CAP)
    for queue, total in zip(deferred, counted, strict=True):
        queue.total, queue.more_than_total = min(total, COUNT_CAP), total > COUNT_CAP
    for queue in deferred:
        if not queue.total:
            continue
        rows = list(queue.rows[:QUEUE_LENGTH])
        queue.items = [queue.item(row) for row in rows]
        if len(rows) < QUEUE_LENGTH:  # counted a moment before: the rows read are the queue
            queue.total, queue.more_than_total = len(rows), False
    return [q for q in queues if not (q.hide_empty and not q.total)]
