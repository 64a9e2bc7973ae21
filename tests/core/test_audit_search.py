"""The auditor's view: per-record timeline, search by user / record type / date range, CSV export,
and read-only access everywhere (R-AT-5)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.audit_trail import record_types
from core.models import Signature, User
from release import services
from release.models import Product
from tests.core.audit_helpers import SHANGHAI, changes, history_models
from tests.factories import PASSWORD, ProductFactory

pytestmark = pytest.mark.django_db


# --- R-AT-5 the auditor's view --------------------------------------------------------------------


@pytest.fixture
def changed_product(approved_product, qa_reviewer2):
    services.product_update(
        product=approved_product, user=qa_reviewer2, data={"pack_size": "48粒/盒"}, reason="新包装规格 2026"
    )
    return approved_product


def test_timeline_shows_old_new_values_reason_and_signatures(
    changed_product, qa_reviewer, qa_reviewer2, auditor, client_for
):
    """R-AT-5: per-record timeline — who, when, old → new, reason, signatures."""
    response = client_for(auditor).get(reverse("core:record_history", args=["release.product", changed_product.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    old = changed_product.history.last().pack_size
    assert (
        f'<tr data-field="pack_size"><td>Pack size</td><td class="audit-old-cell">{old}</td><td class="audit-new-cell">48粒/盒</td></tr>'
        in html
    )
    assert "新包装规格 2026" in html
    assert html.count('data-testid="timeline-change"') == 3  # created, approved, changed
    assert html.count('data-testid="timeline-signature"') == 1
    sig = Signature.objects.for_record(changed_product).get()
    assert sig.printed_name in html and "Approved" in html
    # The change after approval breaks the approval signature's hash (R-SIG-3).
    assert "Signature invalid — record changed after signing" in html
    assert f"({qa_reviewer2.username})" in html and f"({qa_reviewer.username})" in html


def test_timeline_of_unknown_record_type_is_404(auditor, client_for):
    """R-AT-5: a malformed link is a 404, not a server error."""
    client = client_for(auditor)
    assert client.get(reverse("core:record_history", args=["nope.model", 1])).status_code == 404
    assert client.get(reverse("core:record_history", args=["release.product", 999999])).status_code == 404
    assert client.get(reverse("core:record_history", args=["release.product", "abc"])).status_code == 404


def _backdated_change(product: Product, user: User, when: datetime, pack_size: str) -> None:
    obj = Product.objects.get(pk=product.pk)
    obj.pack_size = pack_size
    obj._history_date = when
    obj.save_audited(user=user, reason=f"change to {pack_size}")


def _backdated_product(user: User, when: datetime, **fields) -> Product:
    product = ProductFactory.build(last_changed_by=user, **fields)
    product._history_date = when
    product.save_audited(user=user, reason="created")
    return product


@pytest.fixture
def search_data(qa_reviewer, qa_reviewer2, production_reviewer):
    p1 = _backdated_product(qa_reviewer, datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI), name="甲产品")
    p2 = _backdated_product(
        qa_reviewer, datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI), name="乙产品", status=Product.Status.APPROVED
    )
    _backdated_change(p1, qa_reviewer, datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI), "march-10")
    _backdated_change(p1, qa_reviewer2, datetime(2025, 3, 20, 23, 30, tzinfo=SHANGHAI), "march-20-late")
    _backdated_change(p2, qa_reviewer2, datetime(2025, 3, 21, 0, 30, tzinfo=SHANGHAI), "march-21-early")
    batch = services.batch_create(
        user=production_reviewer,
        data={
            "product": p2,
            "batch_number": "S-1",
            "batch_size": 10,
            "batch_size_unit": "kg",
            "manufacture_date": datetime(2026, 1, 1).date(),
            "site": "车间",
        },
    )
    return {"p1": p1, "p2": p2, "batch": batch}


def _search(client: Client, **params) -> list:
    response = client.get(reverse("core:audit_search"), params)
    assert response.status_code == 200
    return response.context["entries"]


def test_search_filters_by_user(search_data, qa_reviewer2, auditor, client_for):
    """R-AT-5: search all changes by user."""
    entries = _search(client_for(auditor), user=qa_reviewer2.username)
    assert {e.user_id for e in entries} == {qa_reviewer2.pk}
    assert sorted(changes(e)["pack_size"][1] for e in entries) == ["march-20-late", "march-21-early"]


def test_the_user_is_typed_by_username_whatever_its_case_and_an_unknown_one_is_said(
    search_data, qa_reviewer2, auditor, client_for
):
    """R-AT-5, R-UX-2, issue 12: the person is typed (no list of every account on the page); the
    username matches whatever its case, and one that names nobody is said beside the field."""
    client = client_for(auditor)
    entries = _search(client, user=qa_reviewer2.username.upper())
    assert {e.user_id for e in entries} == {qa_reviewer2.pk}
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("core:audit_search"), {"user": "no.such.person"})
    assert response.status_code == 200 and response.context["entries"] == []
    assert response.context["form"].errors["user"] == ["No account has the username no.such.person."]
    page = response.content.decode()
    assert '<select name="user"' not in page and 'name="user" value="no.such.person"' in page


def test_each_row_links_to_its_records_history(search_data, auditor, client_for):
    """R-AT-5, issue 12: every row links to its record's history page (built from one reverse(),
    not a {% url %} per row) exactly as reverse() would, and the link opens."""
    client = client_for(auditor)
    response = client.get(reverse("core:audit_search"))
    entries = response.context["entries"]
    assert len({e.record_key for e in entries}) >= 2
    page = response.content.decode()
    for entry in entries:
        expected = reverse("core:record_history", args=[entry.record_key, entry.object_id])
        assert entry.history_url == expected and f'href="{expected}"' in page
    assert client.get(entries[0].history_url).status_code == 200


def test_search_filters_by_record_type(search_data, auditor, client_for):
    """R-AT-5: search by record type."""
    entries = _search(client_for(auditor), record_type="release.batch")
    assert [e.object_id for e in entries] == [search_data["batch"].pk]
    assert {e.model for e in _search(client_for(auditor), record_type="release.product")} == {Product}


def test_search_filters_by_date_range_in_local_days(search_data, auditor, client_for):
    """R-AT-5: the date range is in the site's days (Asia/Shanghai), the end day included."""
    client = client_for(auditor)
    entries = _search(client, date_from="2025-03-01", date_to="2025-03-15")
    assert [(e.action, changes(e)["pack_size"][1]) for e in entries] == [
        ("~", "march-10"),
        ("+", "12粒×2板/盒"),
        ("+", "12粒×2板/盒"),
    ]
    entries = _search(client, date_from="2025-03-11", date_to="2025-03-20")
    assert [changes(e)["pack_size"][1] for e in entries] == ["march-20-late"]
    entries = _search(client, date_from="2025-03-21", date_to="2025-03-21")
    assert [changes(e)["pack_size"][1] for e in entries] == ["march-21-early"]
    assert _search(client, date_from="2025-02-01", date_to="2025-02-28") == []


def test_search_combines_filters_newest_first(search_data, qa_reviewer2, auditor, client_for):
    """R-AT-5: filters combine; results are newest first."""
    entries = _search(
        client_for(auditor),
        user=qa_reviewer2.username,
        record_type="release.product",
        date_from="2025-03-01",
        date_to="2025-03-31",
    )
    assert [changes(e)["pack_size"][1] for e in entries] == ["march-21-early", "march-20-late"]


def test_search_with_end_before_start_shows_the_error(auditor, client_for):
    """R-AT-5, R-UX-2: a reversed range is explained beside the field, not a server error."""
    response = client_for(auditor).get(
        reverse("core:audit_search"), {"date_from": "2025-03-10", "date_to": "2025-03-01"}
    )
    assert response.status_code == 200
    assert "date_to" in response.context["form"].errors


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_csv_export_has_a_header_and_the_matching_rows(search_data, qa_reviewer2, auditor, client_for):
    """R-AT-5: CSV export of a search, one line per changed field."""
    response = client_for(auditor).get(
        reverse("core:audit_export"),
        {"user": qa_reviewer2.username, "date_from": "2025-03-01", "date_to": "2025-03-31"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = _csv(response)
    assert header == [
        "Time",
        "Time zone",
        "Username",
        "Printed name",
        "Record type",
        "Record",
        "Record id",
        "Action",
        "Field",
        "Old value",
        "New value",
        "Reason for change",
    ]
    assert rows
    assert {r[2] for r in rows} == {qa_reviewer2.username}
    assert {r[1] for r in rows} == {settings.TIME_ZONE}
    packs = [(r[0], r[9], r[10], r[11]) for r in rows if r[8] == "Pack size"]
    assert packs == [
        ("2025-03-21 00:30:00", "12粒×2板/盒", "march-21-early", "change to march-21-early"),
        ("2025-03-20 23:30:00", "march-10", "march-20-late", "change to march-20-late"),
    ]


def test_csv_export_without_filter_lists_every_change(search_data, auditor, client_for):
    """R-AT-5: an unfiltered export covers all record types."""
    header, *rows = _csv(client_for(auditor).get(reverse("core:audit_export")))
    assert {"product", "batch", "user"} <= {r[4] for r in rows}


AUDITOR_READ_PAGES = [
    ("core:my_work", None),
    ("core:audit_search", None),
    ("core:audit_export", None),
    ("core:locked_users", None),
    ("core:integrity", None),
    ("release:product_list", None),
    ("release:batch_list", None),
    ("release:product_detail", "product"),
    ("release:batch_detail", "batch"),
    ("release:deviation_list", None),
    ("release:changecontrol_list", None),
    ("release:deviation_detail", "deviation"),
    ("release:changecontrol_detail", "change_control"),
    ("release:batch_review", "batch"),
    ("release:batch_dossier", "batch"),
    ("release:batch_dossier_bundle", "batch"),
    ("release:register", None),
    ("release:register_csv", None),
    ("release:designation_list", None),
    ("release:materiallot_list", None),
    ("release:materiallot_detail", "material_lot"),
    ("core:record_history", "history_product"),
    ("core:record_history", "history_batch"),
    ("core:record_history", "history_user"),
]


def _url(name: str, arg: str | None, data: dict) -> str:
    if arg is None:
        return reverse(name)
    if arg.startswith("history_"):
        kind = arg.split("_", 1)[1]
        key = {"product": "release.product", "batch": "release.batch", "user": "core.user"}[kind]
        return reverse(name, args=[key, data[kind].pk])
    return reverse(name, args=[data[arg].pk])


@pytest.mark.parametrize("name, arg", AUDITOR_READ_PAGES)
def test_auditor_reads_every_page(name, arg, audit_rows, auditor, client_for):
    """R-AT-5: the auditor opens every list, record, history and export."""
    data = {**audit_rows, "user": auditor}
    assert client_for(auditor).get(_url(name, arg, data)).status_code == 200


# Pages that read but take no action, whose reading by an auditor is tested with the documents:
# the verify pages accept a POSTed copy of a PDF only to compare its hash; downloads are GET-only.
NON_ACTION_PAGES = {"core:document_lookup", "core:document_verify", "core:document_download", "core:document_data"}


def _action_urls(data: dict) -> list[str]:
    """Every URL of core and release that is not a read-only page (found from the URL configuration,
    so an action added later is covered, or must be classified here)."""
    from django.urls import get_resolver

    read_only = {n for n, _a in AUDITOR_READ_PAGES} | NON_ACTION_PAGES
    # Document verification accepts an uploaded copy to compare hashes; it writes nothing.
    read_only |= {"core:document_lookup", "core:document_verify", "core:document_download", "core:document_data"}
    urls = []
    for namespace in ("core", "release"):
        resolver = get_resolver().namespace_dict[namespace][1]
        for pattern in resolver.url_patterns:
            name = f"{namespace}:{pattern.name}"
            if name in read_only:
                continue
            params = list(pattern.pattern.converters)
            if not params:
                urls.append(reverse(name))
            elif name.startswith("release:product"):
                urls.append(reverse(name, kwargs={"pk": data["product"].pk}))
            elif name.startswith("release:batch"):
                kwargs = {"pk": data["batch"].pk}
                if "cid" in params:  # a review correction: the role is refused before the lookup
                    kwargs["cid"] = 1
                urls.append(reverse(name, kwargs=kwargs))
            elif name.startswith("release:materiallot"):
                urls.append(reverse(name, kwargs={"pk": data["material_lot"].pk}))
            else:
                urls.append(reverse(name, kwargs={"pk": data["locked"].pk}))
    return urls


def test_auditor_posts_to_every_action_url_get_403(audit_rows, auditor, qa_reviewer2, client_for):
    """R-AT-5: the auditor changes nothing — every action URL answers 403 and nothing is written."""
    locked = User.objects.get(pk=qa_reviewer2.pk)
    locked.locked_at = timezone.now()
    locked.save()
    data = {**audit_rows, "locked": locked}
    urls = _action_urls(data)
    assert {
        "/release/products/new/",
        f"/release/products/{data['product'].pk}/approve/",
        f"/accounts/{locked.pk}/unlock/",
    } <= set(urls)
    history_before = {m: m.objects.count() for m in history_models()}
    signatures_before = Signature.objects.count()
    client = client_for(auditor)
    payload = {
        "reason": "auditor",
        "approve-password": PASSWORD,
        "void-password": PASSWORD,
        "void-reason": "x",
        "name": "X",
        "pack_size": "X",
        "batch_number": "X",
    }
    for url in urls:
        assert client.post(url, payload).status_code == 403, url
    assert {m: m.objects.count() for m in history_models()} == history_before
    assert Signature.objects.count() == signatures_before
    assert User.objects.get(pk=locked.pk).is_locked


def test_auditor_holds_no_change_permission(auditor):
    """R-AT-5: the role itself grants only view permissions."""
    perms = Group.objects.get(name="auditor").permissions.values_list("codename", flat=True)
    assert perms
    assert all(p.startswith("view_") for p in perms)


# --- R-REC-1 voided records stay readable ------------------------------------------------------


def test_voided_records_stay_readable(audit_rows, qa_reviewer, auditor, client_for):
    """R-REC-1: a voided batch and a voided product are still there, with their reason."""
    batch = audit_rows["batch"]
    product = ProductFactory(last_changed_by=qa_reviewer)
    services.product_void(product=product, user=qa_reviewer, password=PASSWORD, reason="主数据登记错误")
    client = client_for(auditor)
    for record, reason in ((product, "主数据登记错误"), (batch, "重复")):
        record.refresh_from_db()
        assert record.is_voided and record.void_reason == reason
        page = client.get(record.get_absolute_url())
        assert page.status_code == 200
        assert reason in page.content.decode() and "Voided" in page.content.decode()
    assert product in client.get(reverse("release:product_list"), {"status": "voided"}).context["page_obj"].object_list
    history = client.get(reverse("core:record_history", args=["release.product", product.pk])).content.decode()
    assert "主数据登记错误" in history


# --- R-PERF-1 bounded queries -------------------------------------------------------------------


def _churn(product: Product, n: int, editor: User, approver: User) -> None:
    """n changes, each approved again (a signature each): history and signatures both grow."""
    for i in range(n):
        services.product_update(product=product, user=editor, data={"pack_size": f"{i}粒/盒"}, reason=f"change {i}")
        services.product_approve(product=product, user=approver, password=PASSWORD)


# Search: a fixed part (session, user, permissions, the form's user list) plus at most three queries
# per record type (its newest rows; on the page: the rows and their predecessors) — never per row.
SEARCH_QUERY_BOUND = 8 + 3 * len(record_types())
TIMELINE_QUERY_BOUND = 14


@pytest.mark.parametrize("n", [5, 40])
def test_audit_search_page_query_count_does_not_grow(
    n, approved_product, qa_reviewer, qa_reviewer2, auditor, client_for, django_assert_max_num_queries
):
    """R-PERF-1: the search page costs the same number of queries for 5 or 40 changes."""
    _churn(approved_product, n, qa_reviewer, qa_reviewer2)
    client = client_for(auditor)
    with django_assert_max_num_queries(SEARCH_QUERY_BOUND):
        response = client.get(reverse("core:audit_search"))
    assert len(response.context["entries"]) == min(50, sum(m.objects.count() for m in history_models()))
    with django_assert_max_num_queries(SEARCH_QUERY_BOUND):
        client.get(reverse("core:audit_search"), {"record_type": "release.product", "user": qa_reviewer.username})


@pytest.mark.parametrize("n", [5, 40])
def test_record_timeline_query_count_does_not_grow(
    n, approved_product, qa_reviewer, qa_reviewer2, auditor, client_for, django_assert_max_num_queries
):
    """R-PERF-1: a record's timeline costs the same number of queries for 5 or 40 changes and signatures."""
    _churn(approved_product, n, qa_reviewer, qa_reviewer2)
    client = client_for(auditor)
    with django_assert_max_num_queries(TIMELINE_QUERY_BOUND):
        response = client.get(reverse("core:record_history", args=["release.product", approved_product.pk]))
    assert response.content.decode().count('data-testid="timeline-signature"') == n + 1


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    ],
)
@pytest.mark.parametrize("view", ["core:audit_search", "core:audit_export"])
def test_search_dates_at_the_calendars_edge_are_refused_beside_the_field(view, params, auditor, client_for):
    """R-AT-5, R-UX-2: a date such as 0001-01-01 or 9999-12-31 (which cannot become a UTC time in
    the site's zone) is explained beside the field, never a server error."""
    client = client_for(auditor)
    client.raise_request_exception = True
    response = client.get(reverse(view), params, follow=True)
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == set(params)
    assert "Enter a date between 1900-01-01 and 2999-12-31." in response.content.decode()


def test_audit_rows_escape_every_value_and_cut_after_six_changes():
    """Issue 12: the search's rows are built in Python (not a template loop); every value a person
    typed (names, labels, old and new values, reasons) is escaped as a template would, a change
    without an old value shows only the new one, an entry with more than six changes shows six and
    "…", and an entry without a person or reason reads "—"."""
    from datetime import UTC, datetime

    from core.audit_trail import AuditEntry, FieldChange
    from core.views import audit_rows_html
    from release.models import Batch

    changes = [
        FieldChange(name=f"f{i}", label=f"字段{i}", old="" if i == 0 else f"<旧{i}>", new=f'"新{i}"') for i in range(7)
    ]
    entry = AuditEntry(
        when=datetime(2026, 12, 1, 16, 0, 5, tzinfo=UTC),
        user_id=1,
        model=Batch,
        object_id=7,
        record_label="<B2611001>",
        action="~",
        reason="<img src=x> 更正",
        changes=changes,
        username="qa&1",
        printed_name="张三 <QA>",
        history_url="/audit/release.batch/7/",
    )
    bare = AuditEntry(
        when=datetime(2026, 12, 1, 16, 0, 5, tzinfo=UTC),
        user_id=None,
        model=Batch,
        object_id=8,
        record_label="B8",
        action="+",
        reason="",
    )
    html = str(audit_rows_html([entry, bare]))
    assert '<td class="text-nowrap">2026-12-02 00:00:05 UTC+08:00</td><td>张三 &lt;QA&gt; (qa&amp;1)</td>' in html
    assert '<a href="/audit/release.batch/7/">&lt;B2611001&gt;</a>' in html
    assert '<div>字段0: <span class="audit-new">&quot;新0&quot;</span></div>' in html
    assert (
        '<div>字段1: <span class="audit-old">&lt;旧1&gt;</span> → <span class="audit-new">&quot;新1&quot;</span></div>'
        in html
    )
    assert "字段5" in html and "字段6" not in html and '<div class="text-muted">…</div>' in html
    assert "<td>&lt;img src=x&gt; 更正</td></tr>" in html
    second = html.split("\n")[1]  # no person, no reason
    assert second.startswith('<tr><td class="text-nowrap">2026-12-02 00:00:05 UTC+08:00</td><td>—</td>')
    assert second.endswith("<td>—</td></tr>")
    assert "<img" not in html and "<QA>" not in html
