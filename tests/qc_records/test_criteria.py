"""Criterion evaluation at the limits (R-QC-2), including property tests."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qc_records.criteria import Conclusion, Criterion, ResultError, overall

ASSAY = Criterion(kind="numeric", lower=Decimal("95.0"), upper=Decimal("105.0"), decimals=1, unit="%")


@pytest.mark.parametrize(
    "raw, expected",
    [("95.0", "pass"), ("105.0", "pass"), ("94.9", "fail"), ("105.1", "fail"), ("100.0", "pass"), ("0.0", "fail")],
)
def test_assay_limits_are_inclusive(raw, expected):
    assert ASSAY.judge(raw)[1] == expected


def test_a_negative_content_is_refused_as_impossible_not_judged():
    """Issue 7: a content in % cannot be negative; −1.0 is a typing error, not a failing result."""
    with pytest.raises(ResultError, match="≥ 0%"):
        ASSAY.judge("-1.0")


def test_exclusive_limits():
    c = Criterion(
        kind="numeric",
        lower=Decimal("0"),
        lower_inclusive=False,
        upper=Decimal("1.0"),
        upper_inclusive=False,
        decimals=1,
    )
    assert c.judge("0.0")[1] == "fail" and c.judge("1.0")[1] == "fail" and c.judge("0.5")[1] == "pass"
    assert c.describe() == ">0.0, <1.0"


@pytest.mark.parametrize("raw", ["abc", "9 9.5", "1e2", "99,5", "--1", ".5", "5."])
def test_non_numbers_are_refused(raw):
    with pytest.raises(ResultError, match="not a number"):
        ASSAY.judge(raw)


@pytest.mark.parametrize("raw", ["99", "99.50", "100.00"])
def test_wrong_number_of_decimals_is_refused(raw):
    with pytest.raises(ResultError, match="exactly 1 decimal"):
        ASSAY.judge(raw)


def test_empty_is_pending_and_text_and_report_items():
    assert ASSAY.judge("  ") == (None, Conclusion.PENDING)
    text = Criterion(kind="text", text="应符合规定")
    assert text.judge("符合", True)[1] == "pass" and text.judge("不符合", False)[1] == "fail"
    assert text.judge("", None)[1] == "pending"
    report = Criterion(kind="report", unit="cfu/g")
    assert report.judge("<10") == (None, "report") and report.judge("12") == (Decimal("12"), "report")


def test_descriptions():
    assert ASSAY.describe() == "95.0%～105.0%"
    assert Criterion(kind="numeric", upper=Decimal("1.000000"), decimals=1, unit="%").describe() == "≤1.0%"
    assert Criterion(kind="numeric", lower=Decimal("80"), decimals=0, unit="%").describe() == "≥80%"
    assert Criterion(kind="numeric", upper=Decimal("0.05"), decimals=1).describe() == "≤0.05"  # never hides precision


def test_one_failing_individual_result_fails_the_whole():
    """A mean never hides a failing result."""
    assert overall(["pass", "fail", "pass"]) == "fail"
    assert overall(["pass", "pending"]) == "pending"
    assert overall(["fail", "pending"]) == "fail"
    assert overall(["report", "report"]) == "report"
    assert overall(["pass", "report"]) == "pass"
    assert overall([]) == "pending"


# --- properties -----------------------------------------------------------------------------------

decimals_st = st.integers(min_value=0, max_value=4)


@st.composite
def numeric_case(draw):
    places = draw(decimals_st)
    step = Decimal(1).scaleb(-places)
    lo_units = draw(st.integers(min_value=-10_000, max_value=10_000))
    width = draw(st.integers(min_value=0, max_value=10_000))
    lower, upper = lo_units * step, (lo_units + width) * step
    has_lower, has_upper = draw(st.booleans()), draw(st.booleans())
    if not (has_lower or has_upper):
        has_lower = True
    lower_inc, upper_inc = draw(st.booleans()), draw(st.booleans())
    if width == 0 and has_lower and has_upper:
        lower_inc = upper_inc = True
    c = Criterion(
        kind="numeric",
        lower=lower if has_lower else None,
        lower_inclusive=lower_inc,
        upper=upper if has_upper else None,
        upper_inclusive=upper_inc,
        decimals=places,
    )
    return c, step


def _typed(value: Decimal, places: int) -> str:
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


@settings(max_examples=300, deadline=None)
@given(numeric_case(), st.integers(min_value=-20_000, max_value=20_000))
def test_judgement_matches_the_definition(case, units):
    c, step = case
    value = units * step
    expected = (c.lower is None or value > c.lower or (c.lower_inclusive and value == c.lower)) and (
        c.upper is None or value < c.upper or (c.upper_inclusive and value == c.upper)
    )
    number, conclusion = c.judge(_typed(value, c.decimals))
    assert number == value
    assert conclusion == (Conclusion.PASS if expected else Conclusion.FAIL)


@settings(max_examples=200, deadline=None)
@given(numeric_case())
def test_at_each_limit_and_one_step_beyond(case):
    c, step = case
    if c.lower is not None:
        assert c.judge(_typed(c.lower, c.decimals))[1] == ("pass" if c.lower_inclusive else "fail")
        assert c.judge(_typed(c.lower - step, c.decimals))[1] == "fail"
    if c.upper is not None:
        assert c.judge(_typed(c.upper, c.decimals))[1] == ("pass" if c.upper_inclusive else "fail")
        assert c.judge(_typed(c.upper + step, c.decimals))[1] == "fail"


@settings(max_examples=100, deadline=None)
@given(numeric_case(), st.integers(min_value=1, max_value=3))
def test_extra_or_missing_decimals_are_never_judged(case, extra):
    c, step = case
    value = c.lower if c.lower is not None else c.upper
    with pytest.raises(ResultError):
        c.judge(_typed(value, c.decimals + extra))
    if c.decimals > 0:
        with pytest.raises(ResultError):
            c.judge(_typed(value, c.decimals - 1) if c.decimals > 1 else str(int(value)))
