"""The small helpers every view uses (CONTRIBUTING.md "An action view").

An action view is a handful of explicit lines::

    @require_POST
    def record_review(request, pk):
        require_perm(request, "qc_records.review_testrecord")
        record = get_object_for_user(request, TestRecord, pk, "qc_records.view_testrecord")
        form = SignatureForm(posted(request), meaning=services.record_review.meaning, prefix="review")
        if form.is_valid():
            try:
                services.record_review(record=record, user=request.user, ..., request=request)
            except WorkflowError as exc:
                show_refusal(form, exc)
            else:
                messages.success(request, _("..."))
                return redirect(record)
        return render(request, "...", context, status=400)
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import HttpRequest, QueryDict

from core.concurrency import StaleEdit
from core.workflow import InputError, WorkflowError

PAGE_SIZE = 25


def posted(request: HttpRequest) -> QueryDict | None:
    """The POST data of a POST, even an empty one; None for a GET.

    An empty submission must show the "required" errors, not an untouched form
    (``request.POST or None`` would treat it as a GET and lose the refusal).
    """
    return request.POST if request.method == "POST" else None


def paginate(request: HttpRequest, queryset, size: int = PAGE_SIZE, param: str = "page") -> Page:
    """The requested page of ``queryset`` (a bad page number shows the first or last page).
    ``param`` names the page number's query parameter, for a page with two paged tables."""
    return Paginator(queryset, size).get_page(request.GET.get(param))


@dataclass
class CursorPage:
    """One page of a list paged newest first by (a date, the id), with no count (``cursor_page``)."""

    rows: list
    next_after: str  # the cursor of the next (older) page; "" on the last one
    query: str  # the list's filters without the cursor, for the "Older" link
    first_page: bool

    def context(self) -> dict[str, Any]:
        return {"rows": self.rows, "next_after": self.next_after, "query": self.query, "first_page": self.first_page}


# The largest id a cursor may name (PostgreSQL's bigint): a larger one is a bad cursor, not a 500.
_MAX_ID = 2**63 - 1


def cursor_page(request: HttpRequest, queryset, date_field: str, size: int) -> CursorPage:
    """The page of ``queryset`` after ``?after=<date>_<id>``, newest first by ``date_field`` then id
    (ties on the date broken by the id). A cursor is a position, not a page number: a page costs
    the same at row 1,000,000 and no query counts the rows (issue 12). A bad cursor shows the
    first page."""
    after = request.GET.get("after", "")
    day_text, _sep, pk_text = after.partition("_")
    cursor = None
    # Plain ASCII digits only: int() would also take "5_6" or full-width digits.
    if after and pk_text.isascii() and pk_text.isdigit() and 0 < int(pk_text) <= _MAX_ID:
        try:
            cursor = (date.fromisoformat(day_text), int(pk_text))
        except ValueError:
            cursor = None
    if cursor is not None:
        day, pk = cursor
        queryset = queryset.filter(Q(**{f"{date_field}__lt": day}) | Q(**{date_field: day, "pk__lt": pk}))
    rows = list(queryset.order_by(f"-{date_field}", "-pk")[: size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    query = request.GET.copy()
    query.pop("after", None)
    last = rows[-1] if rows else None
    return CursorPage(
        rows=rows,
        next_after=f"{getattr(last, date_field).isoformat()}_{last.pk}" if has_next and last is not None else "",
        query=query.urlencode(),
        first_page=cursor is None,
    )


def query_without_page(request: HttpRequest, param: str = "page") -> str:
    """The list's filters as a query string, for the pager's links (without ``param``)."""
    query = request.GET.copy()
    query.pop(param, None)
    return query.urlencode()


def show_refusal(form: forms.Form, error: WorkflowError, mapping: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form: beside the field it concerns (``InputError``), or at
    the top of the form. ``mapping`` renames a service's keys to the form's field names (R-UX-2)."""
    if isinstance(error, StaleEdit) and hasattr(form, "accept_version"):
        form.accept_version(error)
    if isinstance(error, InputError):
        mapping = mapping or {}
        for key, msgs in error.errors.items():
            name = mapping.get(key, key)
            for message in msgs:
                form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, str(error))


def explain_hidden_form(request: HttpRequest, form: forms.Form | None, shown: bool) -> None:
    """A refused action whose form is no longer offered (someone else acted first) would
    otherwise re-render the page without saying why: repeat its errors as messages (R-UX-2)."""
    if form is not None and form.is_bound and not shown:
        for error in form.non_field_errors():
            messages.error(request, error)


def attach_rows(obj: Any, model: Any, fields: tuple[str, ...] | list[str], known: Any = ()) -> None:
    """Set the rows of ``model`` named by ``fields`` (foreign keys to it) on ``obj`` from one query
    by primary key, as ``select_related`` would have; ``known``: rows of ``model`` already read in
    this request (no query when they are all of them).

    Joining many small tables with a record (its accounts, its checklist templates) made
    PostgreSQL plan a join of up to 13 tables on every view of the record: 3–13 ms of planning for
    under 1 ms of execution at scale 1.0 (issue 12). One more query by primary key costs a
    fraction of that."""
    ids = {getattr(obj, f"{name}_id") for name in fields} - {None}
    rows = {row.pk: row for row in known if row is not None and row.pk in ids}
    missing = ids - set(rows)
    if missing:
        rows.update(model._base_manager.in_bulk(missing))
    for name in fields:
        row = rows.get(getattr(obj, f"{name}_id"))
        if row is not None:
            setattr(obj, name, row)


def attach_people(obj: Any, fields: tuple[str, ...] | list[str]) -> None:
    """``attach_rows`` for the accounts named by ``fields``."""
    from django.contrib.auth import get_user_model

    attach_rows(obj, get_user_model(), fields)


class _LineBuffer:
    """A file for csv.writer that hands back each line it is given instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def csv_line_writer():
    """A csv.writer whose ``writerow`` returns the line: for CSV exports streamed line by line
    (``StreamingHttpResponse``), memory bounded by a line, not the export."""
    return csv.writer(_LineBuffer())
