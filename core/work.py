"""The "My work" page: each app registers the queues it owns (core imports no app).

A provider is ``fn(user) -> list[WorkQueue]``; release, qc_records, … register theirs in their
AppConfig.ready(). Queues list items oldest first with their due dates (R-UX-3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.utils.functional import Promise


@dataclass
class WorkItem:
    title: str
    url: str
    since: datetime | date | None = None
    due: datetime | date | None = None
    note: str = ""


@dataclass
class WorkQueue:
    key: str
    title: str | Promise
    items: list[WorkItem] = field(default_factory=list)
    total: int = 0
    more_url: str = ""
    empty_text: str | Promise = ""


QUEUE_LENGTH = 20


def first_items(queryset, length: int = QUEUE_LENGTH) -> tuple[list, int]:
    """The first ``length`` rows of a queue and its total, in one query unless the queue is longer.

    My work shows a dozen queues to some roles; most are short, so counting each one separately
    would double the page's queries for nothing (R-PERF-1).
    """
    items = list(queryset[:length])
    total = len(items) if len(items) < length else queryset.count()
    return items, total


_providers: list[Callable[[Any], list[WorkQueue]]] = []


def register(provider: Callable[[Any], list[WorkQueue]]) -> Callable[[Any], list[WorkQueue]]:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def queues_for(user: Any) -> list[WorkQueue]:
    queues: list[WorkQueue] = []
    for provider in _providers:
        queues.extend(provider(user))
    return queues
