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
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

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


def normalise(raw: str | None) -> str:
    """A typed value as the analyst meant it: full-width digits, signs and the full-width point
    typed with a Chinese IME (NFKC: "１２．５" → "12.5") and the Chinese full stop used as a decimal
    point ("12。5" → "12.5"), surrounding spaces removed."""
    return unicodedata.normalize("NFKC", raw or "").replace("。", ".").strip()


def round_gb8170(value: Decimal, decimals: int) -> Decimal:
    """Rounding per GB/T 8170-2008 (四舍六入五成双): a 5 followed by nothing rounds to the even digit."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


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


# Units whose quantity cannot be negative: a content or a fraction (%), a mass, a volume, a
# concentration, a count. An item in one of them with no lowest possible value of its own gets
# "≥ 0" (issue 7: TOC −1.00 mg/L, −5 cfu/ml were judged 符合规定). An item whose results can be
# negative in such a unit (a relative deviation in %) sets its own lowest possible value (e.g. −100).
NON_NEGATIVE_UNITS = frozenset(
    unit.casefold()
    for unit in (
        "%",
        "％",
        "g",
        "mg",
        "μg",
        "ug",
        "µg",
        "ng",
        "kg",
        "ml",
        "l",
        "μl",
        "µl",
        "ul",
        "mg/ml",
        "mg/l",
        "μg/ml",
        "µg/ml",
        "ug/ml",
        "g/ml",
        "g/l",
        "mg/g",
        "μg/g",
        "µg/g",
        "ppm",
        "ppb",
        "cfu",
        "cfu/ml",
        "cfu/g",
        "cfu/皿",
        "cfu/100ml",
        "eu/ml",
        "eu/mg",
        "iu",
        "iu/mg",
        "u/mg",
        "粒",
        "片",
        "个",
        "支",
        "袋",
        "瓶",
    )
)


def default_physical_min(unit: str) -> Decimal | None:
    """0 for a unit whose quantity cannot be negative, else None (no default limit)."""
    return Decimal(0) if "".join((unit or "").split()).casefold() in NON_NEGATIVE_UNITS else None


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
    # The values the quantity can physically take (e.g. ≥ 0 for a count or a content): a value
    # outside is a typing error, refused before it is judged (issue 7: TOC −1.00, −5 cfu/ml).
    physical_min: Decimal | None = None
    physical_max: Decimal | None = None

    def check_physical(self, value: Decimal, text: str) -> Decimal:
        low, high = self.physical_min, self.physical_max
        if low is None:
            low = default_physical_min(self.unit)
        low = Decimal(low) if low is not None else None
        high = Decimal(high) if high is not None else None
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                bounds = f"{_fmt(low, None)}～{_fmt(high, None)}{self.unit}"
            elif low is not None:
                bounds = f"≥ {_fmt(low, None)}{self.unit}"
            else:
                bounds = f"≤ {_fmt(high, None)}{self.unit}"
            raise ResultError(
                _("“%(value)s” is not a possible value here (%(bounds)s); check the value and its sign.")
                % {"value": text, "bounds": bounds}
            )
        return value

    # --- parsing ----------------------------------------------------------------------------

    def parse(self, raw: str) -> Decimal:
        """The typed value as a Decimal, or ResultError naming what is wrong."""
        text = normalise(raw)
        match = _NUMBER.match(text)
        if not match:
            raise ResultError(
                _("“%(value)s” is not a number; enter digits with a decimal point, e.g. 99.5.") % {"value": text}
            )
        if self.decimals is not None:
            places = len(match.group(2) or "")
            if places != self.decimals:
                example = format(Decimal(1).scaleb(-self.decimals), "f") if self.decimals else "1"
                message = _(
                    "Report this result with exactly %(n)s decimal place(s) (like %(example)s); “%(value)s” has %(places)s."
                ) % {"n": self.decimals, "example": example, "value": text, "places": places}
                if places > self.decimals:
                    # Offered, never applied silently: the analyst confirms the reported value.
                    rounded = format(round_gb8170(Decimal(text), self.decimals), "f")
                    message += " " + _(
                        "Rounded per GB/T 8170 (四舍六入五成双) it is %(rounded)s: enter %(rounded)s and keep "
                        "%(value)s in the calculation."
                    ) % {"rounded": rounded, "value": text}
                raise ResultError(message)
        try:
            return self.check_physical(_checked(Decimal(text), text), text)
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
        text = normalise(raw) if self.kind != CriterionKind.TEXT else (raw or "").strip()
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
            value = (
                self.parse(text)
                if self.decimals is not None
                else self.check_physical(_checked(Decimal(text), text), text)
            )
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
