"""Gap-free document numbers (report numbers, OOS, samples, and whatever release, after-sales
and recalls number next).

``next_number("QC", 2026)`` → 1, 2, 3 … and ``formatted_number("QC", 2026, width=4)`` →
"QC-2026-0001". Call inside the transaction that stores the number: the counter row stays locked
until that transaction ends, so two concurrent actions never get the same number, and one that
rolls back gives its number back (R-QC-6).
"""

from __future__ import annotations

from core.models import NumberCounter


def next_number(series: str, year: int) -> int:
    """The next number of ``series`` for ``year``. Call inside the transaction that uses it."""
    # INSERT … ON CONFLICT DO NOTHING: the first number of a year is safe under concurrency too.
    # (A bulk write on a deliberately non-audited table: the numbers live on audited records.)
    NumberCounter.objects.bulk_create([NumberCounter(series=series, year=year)], ignore_conflicts=True)
    counter = NumberCounter.objects.select_for_update().get(series=series, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def formatted_number(series: str, year: int, *, width: int, prefix: str | None = None) -> str:
    """``PREFIX-YYYY-NNNN`` with the next number of ``series`` (``prefix`` defaults to the series)."""
    return f"{prefix or series}-{year}-{next_number(series, year):0{width}d}"
