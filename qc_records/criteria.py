"""Specification criteria and the judgement of one individual result (R-QC-2).

Pure functions, no database: the test-record form, the services and the property tests all use
the same code, so the limits a page shows are the limits a result is judged against.

A result is compared exactly as it was reported (after rounding to the specification's number of
decimals, 中国药典 凡例 "修约"): "105.0" against "95.0%–105.0%" complies, "105.1" does not. The
number of decimals is part of the result's correctness, so a result typed with the wrong number
of decimals is refused rather than silently rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class CriterionKind(models.TextChoices):
    NUMERIC = "numeric", gettext_lazy("Numeric limits")
    TEXT = "text", gettext_lazy("Text (e.g. 应符合规定)")
    REPORT = "report", gettext_lazy("Report only")


class Conclusion(models.TextChoices):
    PENDING = "pending", gettext_lazy("Not entered")
    PASS = "pass", gettext_lazy("Complies")
    FAIL = "fail", gettext_lazy("Does not comply")
    REPORT = "report", gettext_lazy("Reported")


class ResultError(ValueError):
    """A typed result that cannot be accepted; the message says what is expected."""


# Plain decimal notation only: no exponent, no thousands separators, no spaces inside.
_NUMBER = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?$")

# What TestResult.value_numeric can hold (max_digits=20, decimal_places=6): a longer number would
# fail on PostgreSQL ("numeric field overflow") and, on SQLite, be stored but never read back.
MAX_INTEGER_DIGITS = 14
_TOO_LARGE = Decimal(10) ** MAX_INTEGER_DIGITS


def _checked(value: Decimal, text: str) -> Decimal:
    if abs(value) >= _TOO_LARGE:
        raise ResultError(
            _(
                "“%(value)s” is too large to record (at most %(n)s digits before the decimal point); check the value and its unit."
            )
            % {"value": text, "n": MAX_INTEGER_DIGITS}
        )
    return value


@dataclass(frozen=True)
class Criterion:
    kind: str
    lower: Decimal | None = None
    lower_inclusive: bool = True
    upper: Decimal | None = None
    upper_inclusive: bool = True
    decimals: int | None = None
    unit: str = ""
    text: str = ""

    # --- parsing ----------------------------------------------------------------------------

    def parse(self, raw: str) -> Decimal:
        """The typed value as a Decimal, or ResultError naming what is wrong."""
        text = (raw or "").strip()
        match = _NUMBER.match(text)
        if not match:
            raise ResultError(
                _("“%(value)s” is not a number; enter digits with a decimal point, e.g. 99.5.") % {"value": text}
            )
        if self.decimals is not None:
            places = len(match.group(2) or "")
            if places != self.decimals:
                example = format(Decimal(1).scaleb(-self.decimals), "f") if self.decimals else "1"
                raise ResultError(
                    _(
                        "Report this result with exactly %(n)s decimal place(s) (like %(example)s); “%(value)s” has %(places)s."
                    )
                    % {"n": self.decimals, "example": example, "value": text, "places": places}
                )
        try:
            return _checked(Decimal(text), text)
        except InvalidOperation:  # pragma: no cover - the regex only lets valid numbers through
            raise ResultError(_("“%(value)s” is not a number.") % {"value": text}) from None

    # --- judgement --------------------------------------------------------------------------

    def within(self, value: Decimal) -> bool:
        """Whether a numeric value meets the limits (each limit inclusive or not)."""
        if self.lower is not None:
            if value < self.lower or (value == self.lower and not self.lower_inclusive):
                return False
        if self.upper is not None:
            if value > self.upper or (value == self.upper and not self.upper_inclusive):
                return False
        return True

    def judge(self, raw: str, complies: bool | None = None) -> tuple[Decimal | None, str]:
        """(numeric value or None, Conclusion) for one individual result.

        Numeric: parsed and compared with the limits. Text: the analyst's judgement against the
        written criterion (complies yes/no) decides. Report only: never pass/fail.
        Raises ResultError for a value that cannot be accepted.
        """
        text = (raw or "").strip()
        if self.kind == CriterionKind.NUMERIC:
            if not text:
                return None, Conclusion.PENDING
            value = self.parse(text)
            return value, Conclusion.PASS if self.within(value) else Conclusion.FAIL
        if self.kind == CriterionKind.TEXT:
            if complies is None:
                return None, Conclusion.PENDING
            return None, Conclusion.PASS if complies else Conclusion.FAIL
        # Report only: a number when it looks like one (for trending), otherwise just the text.
        if not text:
            return None, Conclusion.PENDING
        value = None
        if _NUMBER.match(text):
            value = self.parse(text) if self.decimals is not None else _checked(Decimal(text), text)
        return value, Conclusion.REPORT

    # --- display ----------------------------------------------------------------------------

    def describe(self) -> str:
        """The criterion as printed on the record and the report, e.g. "95.0%～105.0%", "≤1.0%"."""
        if self.kind == CriterionKind.TEXT:
            return self.text or _("Complies")
        if self.kind == CriterionKind.REPORT:
            return self.text or _("Report value")
        unit = self.unit or ""
        lo = f"{_fmt(self.lower, self.decimals)}{unit}" if self.lower is not None else ""
        hi = f"{_fmt(self.upper, self.decimals)}{unit}" if self.upper is not None else ""
        if lo and hi:
            if self.lower_inclusive and self.upper_inclusive:
                return f"{lo}～{hi}"
            left = "≥" if self.lower_inclusive else ">"
            right = "≤" if self.upper_inclusive else "<"
            return f"{left}{lo}, {right}{hi}"
        if lo:
            return f"{'≥' if self.lower_inclusive else '>'}{lo}"
        if hi:
            return f"{'≤' if self.upper_inclusive else '<'}{hi}"
        return ""


def _fmt(value: Decimal, decimals: int | None) -> str:
    """A limit as written in the specification: stored with 6 places, printed with the result's
    number of decimals (95.0, not 95.000000), never hiding a more precise limit."""
    plain = value.normalize()
    places = max(-plain.as_tuple().exponent, 0)
    if decimals is not None:
        places = max(places, decimals)
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def overall(conclusions: list[str]) -> str:
    """One item's (or one record's) conclusion from its individual results.

    Any individual failure fails the whole — a mean never hides a failing result (R-QC-2).
    """
    if any(c == Conclusion.FAIL for c in conclusions):
        return Conclusion.FAIL
    if not conclusions or any(c == Conclusion.PENDING for c in conclusions):
        return Conclusion.PENDING
    if all(c == Conclusion.REPORT for c in conclusions):
        return Conclusion.REPORT
    return Conclusion.PASS
