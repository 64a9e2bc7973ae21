"""Calendar arithmetic for expiry and retention dates (one definition, used by every app)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it is shorter (31 Jan + 1 → 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def add_years(start: date, years: int) -> date:
    """The same day ``years`` later (29 February → 28 February)."""
    return add_months(start, 12 * years)


def expiry_from(manufacture_date: date, shelf_life_months: int) -> date:
    """Expiry date ("有效期至") from the manufacture date and shelf life.

    药品说明书和标签管理规定 第二十三条: expressed to the day, the expiry is the day before the
    same date N months later (2024-05-10 + 24 months → 2026-05-09).
    """
    return add_months(manufacture_date, shelf_life_months) - timedelta(days=1)


# Dates after this are typing mistakes, and would break the expiry and retention arithmetic
# (year 9999 + shelf life overflows the calendar).
LATEST_PLAUSIBLE_DATE = date(2999, 12, 31)


def plausible_date_window() -> tuple[date, date]:
    """(earliest, latest) date a GMP record can carry: nothing happened at the site before
    ``EARLIEST_PLAUSIBLE_DATE`` (a setting: the plant's start), so an earlier date is a typing
    mistake or a back-dating (issue 8 item 10)."""
    from django.conf import settings

    return settings.EARLIEST_PLAUSIBLE_DATE, LATEST_PLAUSIBLE_DATE


def validate_plausible_date(value: date | None) -> None:
    """Form and model validator: refuse a date outside ``plausible_date_window()``."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    if value is None:
        return
    earliest, latest = plausible_date_window()
    if not earliest <= value <= latest:
        raise ValidationError(
            _("Enter a date between %(start)s and %(end)s.")
            % {"start": earliest.isoformat(), "end": latest.isoformat()},
            code="implausible_date",
        )
