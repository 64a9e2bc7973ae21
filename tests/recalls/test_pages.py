"""Recall pages as people use them (R-RCL-1…5, R-UX-2): what each role sees and may do, messages
beside the fields, 403 for the wrong role, no 500 on bad input."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Signature
from recalls.models import Recall, RecallInformation
from release.models import ProductHold
from tests.aftersales.helpers import english_client, shown_meaning
from tests.factories import PASSWORD
from tests.recalls.conftest import recall_data

pytestmark = pytest.mark.django_db


def _now() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def test_qa_records_information_from_a_page_and_the_product_is_locked(shipped, users):
    client = english_client(users["qa_reviewer"])
    url = reverse("recalls:information_create")
    page = client.get(url).content.decode()
    assert "Saving locks the whole product at once" in page
    response = client.post(
        url,
        {
            "source": "complaint",
            "form": "phone",
            "received_at": _now(),
            "product": shipped[0].product.pk,
            "batch_numbers": "K2611001",
            "description": "客户投诉胶囊变色，经确认属实",
        },
        follow=True,
    )
    info = RecallInformation.objects.get()
    assert f"Recall information {info.number} recorded" in response.content.decode()
    assert ProductHold.objects.get().status == ProductHold.Status.ACTIVE


def test_an_empty_information_form_says_what_is_missing_and_writes_nothing(shipped, users):
    response = english_client(users["qa_reviewer"]).post(reverse("recalls:information_create"), {})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert not RecallInformation.objects.exists() and not ProductHold.objects.exists()


@pytest.mark.parametrize("role", ["sales", "customer_service", "recall_coordinator", "qualified_person"])
def test_other_roles_get_403_on_the_information_form(role, users):
    assert english_client(users[role]).get(reverse("recalls:information_create")).status_code == 403


def test_information_raised_from_a_complaint_names_it(shipped, users):
    from aftersales import services as aftersales_services
    from tests.aftersales.conftest import feedback_data

    fb = aftersales_services.feedback_record(
        user=users["customer_service"], data=feedback_data(batch=shipped[0], product=shipped[0].product)
    )
    complaint = fb.complaint
    client = english_client(users["qa_reviewer"])
    url = reverse("recalls:information_create") + f"?complaint={complaint.pk}"
    page = client.get(url).content.decode()
    assert complaint.number in page and 'value="complaint" selected' in page.replace('selected=""', "selected")
    response = client.post(
        reverse("recalls:information_create"),
        {
            "_complaint": complaint.pk,
            "source": "complaint",
            "form": "phone",
            "received_at": _now(),
            "product": shipped[0].product.pk,
            "description": "投诉属实",
        },
    )
    assert response.status_code == 302
    info = RecallInformation.objects.get()
    assert info.source_record == complaint and info.source_label == str(complaint)


def test_the_analysis_form_shows_and_records_its_meaning(information, users):
    client = english_client(users["qa_reviewer"])
    action = reverse("recalls:information_analyse", args=[information.pk])
    page = client.get(information.get_absolute_url()).content.decode()
    assert shown_meaning(page, action) == "Reviewed"
    response = client.post(
        action,
        {
            "analyse-scope": "general",
            "analyse-analysis": "普遍性",
            "analyse-proposal": "建议召回",
            "analyse-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert Signature.objects.for_record(RecallInformation.objects.get()).get().meaning == "reviewed"


def test_a_wrong_password_is_said_beside_the_form_and_nothing_changes(information, users):
    client = english_client(users["qa_reviewer"])
    response = client.post(
        reverse("recalls:information_analyse", args=[information.pk]),
        {"analyse-scope": "general", "analyse-analysis": "a", "analyse-proposal": "p", "analyse-password": "x"},
    )
    assert response.status_code == 400
    assert "Wrong password: the signature was not applied." in response.content.decode()
    assert RecallInformation.objects.get().status == RecallInformation.Status.RECEIVED


def test_narrowing_without_the_password_is_refused_beside_the_field(information, shipped, users):
    response = english_client(users["qa_reviewer"]).post(
        reverse("recalls:information_narrow", args=[information.pk]),
        {"narrow-batches": [shipped[0].pk], "narrow-reason": "仅此批"},
    )
    assert response.status_code == 400
    assert "Narrowing the product lock needs your signature: enter your password." in response.content.decode()
    assert ProductHold.objects.get().status == ProductHold.Status.ACTIVE


def test_proposing_without_class_or_batches_says_so_beside_the_fields(analysed, users):
    client = english_client(users["qa_reviewer"])
    data = recall_data(users)
    post = {k: v for k, v in data.items() if k not in ("coordinator", "qualified_person", "plan_completion_date")}
    post.update(
        recall_class="",
        coordinator=users["recall_coordinator"].pk,
        qualified_person=users["qualified_person"].pk,
        plan_completion_date=data["plan_completion_date"].isoformat(),
        password=PASSWORD,
    )
    response = client.post(reverse("recalls:recall_propose", args=[analysed.pk]), post)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Choose the recall class (I, II or III)." in page and "Choose at least one batch." in page
    assert not Recall.objects.exists()


def test_the_recall_page_shows_shipped_recovered_outstanding_and_the_deadlines(started, users, coordinator):
    from recalls import services

    row = started.consignees.get(consignee_name="钱塘大药房")
    services.consignee_quantities(
        consignee=row,
        user=coordinator,
        data=dict(quantity_held=0, quantity_returned=100, quantity_used=0, quantity_destroyed=0),
        reason="退回",
    )
    page = english_client(coordinator).get(started.get_absolute_url()).content.decode()
    assert "钱塘大药房" in page and "Progress report 1" in page
    assert "Recall notice issued to every consignee" in page
    assert "not verified" in page  # progress frequencies: 2007 measures only
    assert "25.6 %" in page  # 100 recovered of 390


def test_the_consignee_page_refuses_more_than_shipped_beside_the_form(started, coordinator):
    row = started.consignees.get(consignee_name="钱塘大药房")
    response = english_client(coordinator).post(
        reverse("recalls:consignee_step", args=[row.pk, "quantities"]),
        {
            "qty-quantity_held": 100,
            "qty-quantity_returned": 100,
            "qty-quantity_used": 0,
            "qty-quantity_destroyed": 0,
            "qty-reason": "核实",
        },
    )
    assert response.status_code == 400
    assert "more than the 120 shipped to 钱塘大药房" in response.content.decode()


def test_the_consignee_csv_lists_every_consignee(started, users):
    """R-RCL-3; issue 12: streamed (a general recall has thousands of consignees)."""
    response = english_client(users["qa_reviewer"]).get(reverse("recalls:consignee_csv", args=[started.pk]))
    assert response.streaming and response["Content-Disposition"].endswith(f'{started.number}-consignees.csv"')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Consignee,Address,Contact,Batch,Shipped")
    assert sum(1 for line in text.splitlines() if "K2611001" in line) == 3


@pytest.mark.parametrize("role", ["sales", "customer_service"])
def test_sales_and_customer_service_cannot_open_recalls(started, users, role):
    assert english_client(users[role]).get(started.get_absolute_url()).status_code == 403


def test_the_dashboard_lists_open_information_and_recalls_in_few_queries(started, users, django_assert_max_num_queries):
    client = english_client(users["qa_reviewer"])
    with django_assert_max_num_queries(30):
        page = client.get(reverse("recalls:recall_list")).content.decode()
    assert started.number in page


def test_the_dashboard_prints_each_recalls_totals_as_the_reconciliation_adds_them(started, coordinator, users):
    """R-RCL-5, issue 12: the list sums the consignee rows in the database (one row per recall); the
    figures are those reconcile() gives the recall page, and a recall without consignees shows
    zeros."""
    from recalls.reconciliation import reconcile
    from tests.recalls.conftest import record_figures

    record_figures(started, coordinator)
    totals = reconcile(started.consignees.select_related("batch"))
    assert (totals.shipped, totals.recovered, totals.outstanding, str(totals.effectiveness)) == (390, 215, 135, "58.1")
    response = english_client(users["qa_reviewer"]).get(reverse("recalls:recall_list"))
    (item,) = response.context["open_recalls"]
    shown = item["totals"]
    assert (shown.shipped, shown.held, shown.returned, shown.used, shown.destroyed) == (
        totals.shipped,
        totals.held,
        totals.returned,
        totals.used,
        totals.destroyed,
    )
    assert (shown.consignees, shown.notified, shown.acknowledged) == (3, 0, 0)
    row = next(r for r in response.content.decode().split("<tr>") if started.number in r)
    assert [c.split("</td>")[0].strip() for c in row.split('class="text-end">')[1:]] == ["390", "215", "135", "58.1 %"]


def test_the_notice_is_done_only_when_the_last_consignee_is_notified(started, coordinator, users):
    """R-RCL-4: the notice task is done on the later of the filing and the last consignee's notice,
    and stays open while any consignee is not notified (counted by the database)."""
    from recalls import services
    from recalls.deadlines import recall_tasks
    from recalls.models import ProgressEntry

    def notice():
        """The notice task counted by the database, and as the recall page computes it from the
        progress entries and consignee rows it has read (issue 12): the same."""
        recall = Recall.objects.get(pk=started.pk)
        counted = next(t for t in recall_tasks(recall) if t.key == "notice")
        given = recall_tasks(recall, progress=list(recall.progress.all()), consignees=list(recall.consignees.all()))
        assert next(t for t in given if t.key == "notice") == counted
        return counted

    services.progress_add(
        recall=started, user=coordinator, kind=ProgressEntry.Kind.FILING, occurred_at=timezone.now(), text="已备案"
    )
    rows = list(started.consignees.order_by("pk"))
    assert len(rows) == 3
    for row in rows[:2]:
        services.consignee_notify(consignee=row, user=coordinator, method="fax", notified_at=timezone.now())
    assert notice().done_on is None
    services.consignee_notify(consignee=rows[2], user=coordinator, method="phone", notified_at=timezone.now())
    assert notice().done_on == timezone.localdate()


def test_the_recall_page_names_its_people_without_joining_them_all(started, users, django_assert_max_num_queries):
    """Issue 12: the recall's people come in one query of their own (an 8-table join took
    PostgreSQL up to 14 ms to plan at scale 1.0); the page still names the coordinator, the QP and
    who started it, and loads none of them on its own."""
    client = english_client(users["recall_coordinator"])
    with django_assert_max_num_queries(30) as ctx:
        page = client.get(started.get_absolute_url()).content.decode()
    accounts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "core_user"')]
    assert len(accounts) == 2, accounts  # the person signed in, then the recall's people at once
    for role in ("recall_coordinator", "qualified_person", "quality_head"):
        assert users[role].printed_name in page, role
    recall_query = next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "recalls_recall"."id"'))
    assert recall_query.count(" JOIN ") == 2  # its product and information


def test_the_dashboard_pages_the_recalls_in_progress(started, shipped, users, monkeypatch):
    """Issue 12: open recalls are paged (oldest first) like the closed ones, so the dashboard's cost
    is bounded by a page, whatever number are open; each page's totals are its own recalls'; the
    two pagers have their own parameter and name."""
    from recalls import services, views
    from tests.recalls.conftest import info_data

    qa = users["qa_reviewer"]
    info = services.information_record(user=qa, data=info_data(shipped[1].product, batch_numbers="K2611002"))
    info = services.information_analyse(
        information=info, user=qa, password=PASSWORD, scope="general", analysis="同上", proposal="召回 K2611002"
    )
    newer = services.recall_propose(
        information=info, user=qa, password=PASSWORD, data=recall_data(users), batches=[shipped[1]]
    )
    monkeypatch.setattr(views, "OPEN_PAGE_SIZE", 1)
    client = english_client(users["recall_coordinator"])
    url = reverse("recalls:recall_list")
    first = client.get(url)
    second = client.get(url + "?open_page=2")
    assert [i["recall"].number for i in first.context["open_recalls"]] == [started.number]
    assert [i["recall"].number for i in second.context["open_recalls"]] == [newer.number]
    assert first.context["open_recalls"][0]["totals"].shipped == 390
    assert second.context["open_recalls"][0]["totals"].shipped == 0  # proposed: nobody traced yet
    page = first.content.decode()
    assert 'aria-label="Pages of recalls in progress"' in page and "Page 1 of 2" in page
    assert 'href="?open_page=2"' in page
    assert "Page 2 of 2" in second.content.decode()
    assert client.get(url + "?open_page=x").status_code == 200  # a bad page number shows the first


def test_my_work_shows_overdue_recall_tasks(started, coordinator, users):
    from datetime import timedelta

    from core.audit import AuditedModel

    recall = Recall.objects.get(pk=started.pk)
    # Started three days ago (class II: notice within 3 days, a progress report every 3 days).
    recall.started_at = timezone.now() - timedelta(days=5)
    AuditedModel.save_audited(recall, user=users["quality_head"], reason="test: started earlier")
    page = english_client(coordinator).get(reverse("core:my_work")).content.decode()
    assert "Recall tasks overdue" in page and "Recall notice issued to every consignee" in page


def test_the_quality_head_sees_the_proposed_recall_on_my_work(proposed, users):
    page = english_client(users["quality_head"]).get(reverse("core:my_work")).content.decode()
    assert "Recalls proposed by QA" in page and proposed.number in page


def test_the_qp_sees_the_final_report_to_approve_on_my_work(started, users, coordinator):
    from recalls import services

    for row in started.consignees.all():
        services.consignee_notify(consignee=row, user=coordinator, method="phone", notified_at=timezone.now())
    services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="有效",
        outstanding_justification="已全部使用",
        hold_disposition="keep",
    )
    page = english_client(users["qualified_person"]).get(reverse("core:my_work")).content.decode()
    assert "Recall final reports to approve" in page and started.number in page


def test_complaint_and_deviation_pages_offer_to_raise_recall_information(shipped, users):
    """Issue 11 item 9: the button sits on the source record's page; the form names the source."""
    from aftersales import services as aftersales_services
    from release import services as release_services
    from tests.aftersales.conftest import feedback_data

    complaint = aftersales_services.feedback_record(
        user=users["customer_service"], data=feedback_data(batch=shipped[0], product=shipped[0].product)
    ).complaint
    qa = english_client(users["qa_reviewer"])
    link = reverse("recalls:information_create") + f"?complaint={complaint.pk}"
    assert link in qa.get(complaint.get_absolute_url()).content.decode()
    assert link not in english_client(users["customer_service"]).get(complaint.get_absolute_url()).content.decode()
    deviation = release_services.deviation_create(
        user=users["qa_reviewer"],
        data=dict(title="压片机故障", description="压片过程中压力波动", classification="major"),
        batches=[shipped[0]],
    )
    page = qa.get(reverse("recalls:information_create") + f"?deviation={deviation.pk}").content.decode()
    assert deviation.number in page and "K2611001" in page


def test_the_recall_notice_pdf_and_the_final_report_pdf_are_issued_with_their_data(
    started, users, coordinator, django_capture_on_commit_callbacks
):
    """R-RCL-3/5: the notice per consignee (product, batches, reason, class, what to do) and the
    final report (reconciliation, timeline, QA and QP signatures), bilingual."""
    from core.models import Document
    from recalls import services

    row = started.consignees.get(consignee_name="钱塘大药房")
    client = english_client(coordinator)
    response = client.get(reverse("recalls:recall_notice_pdf", args=[row.pk]))
    assert response.status_code == 302
    notice = Document.objects.get(kind="recall_notice")
    data = notice.context
    assert data["consignee"]["name"] == "钱塘大药房" and data["batches"][0]["number"] == "K2611001"
    assert data["recall"]["recall_class"] == {
        "zh-hans": "二级召回（暂时的或可逆的健康危害）",
        "en": "Class II (temporary or reversible harm)",
    }
    assert "Stop selling" in data["what_to_do"]["en"]
    for r in started.consignees.all():
        services.consignee_notify(consignee=r, user=coordinator, method="phone", notified_at=timezone.now())
        services.consignee_quantities(
            consignee=r,
            user=coordinator,
            data=dict(
                quantity_held=0, quantity_returned=r.quantity_shipped - 10, quantity_used=10, quantity_destroyed=0
            ),
            reason="核实",
        )
    services.recall_close(
        recall=started,
        user=users["qa_reviewer"],
        password=PASSWORD,
        effectiveness_evaluation="有效",
        outstanding_justification="",
        hold_disposition="keep",
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.recall_approve(recall=started, user=users["qualified_person"], password=PASSWORD, reason="同意")
    report = Document.objects.get(kind="recall_final_report")
    data = report.context
    assert (data["totals"]["shipped"], data["totals"]["recovered"], data["totals"]["effectiveness"]) == (
        390,
        360,
        "100.0",
    )
    assert [s["meaning"] for s in data["signatures"]][-2:] and len(data["signatures"]) == 4
    assert any(t["what"]["en"] == "Final report approved" for t in data["timeline"])
    response = client.get(reverse("recalls:final_report_pdf", args=[started.pk]))
    assert response.status_code == 302 and Document.objects.filter(kind="recall_final_report").count() == 1


def test_the_information_page_shows_the_signature_that_narrowed_the_lock(started, users):
    """R-RCL-2: the product lock narrows only with a signature, and the page shows it beside the lock."""
    info = started.information
    page = english_client(users["auditor"]).get(reverse("recalls:information_detail", args=[info.pk]))
    text = page.content.decode()
    locks = text[text.index('data-testid="locks"') : text.index("</ul>", text.index('data-testid="locks"'))]
    assert "Whole product: Lifted" in locks
    assert "(quality_head)" in locks and "Hold lifted" in locks and "Signature valid" in locks


def test_the_recall_page_reads_each_kind_of_row_once_and_only_the_kinds_it_has(
    proposed, coordinator, users, django_assert_max_num_queries
):
    """Issue 12 / R-RCL-3, R-RCL-4: the page's deadlines come from the progress entries and
    consignee rows it shows (no second count), and the recall's query says whether it has holds,
    batch rejections and recovered goods: a proposed recall reads none of them; once started, its
    holds are read and shown; the tasks are those the database count gives."""
    from recalls import services
    from recalls.deadlines import recall_tasks
    from recalls.models import ProgressEntry

    kinds = {
        "holds": 'SELECT "release_batchhold".',
        "rejections": 'SELECT "release_batchrejection".',
        "recovered": 'SELECT "recalls_recoveredgoods".',
        "progress": 'SELECT "recalls_progressentry".',
        "consignees": 'SELECT "recalls_recallconsignee".',
    }

    def read(recall):
        client = english_client(users["recall_coordinator"])
        with django_assert_max_num_queries(30) as ctx:
            response = client.get(recall.get_absolute_url())
        assert response.status_code == 200
        reads = {k: sum(q["sql"].startswith(v) for q in ctx.captured_queries) for k, v in kinds.items()}
        return response, reads

    response, reads = read(proposed)
    assert reads == {"holds": 0, "rejections": 0, "recovered": 0, "progress": 1, "consignees": 1}
    assert "No progress entries yet." in response.content.decode()

    recall = services.recall_start(recall=proposed, user=users["quality_head"], password=PASSWORD, reason="启动召回")
    services.progress_add(
        recall=recall, user=coordinator, kind=ProgressEntry.Kind.FILING, occurred_at=timezone.now(), text="已向省局备案"
    )
    services.consignee_notify(
        consignee=recall.consignees.order_by("pk").first(), user=coordinator, method="fax", notified_at=timezone.now()
    )
    response, reads = read(recall)
    assert reads == {"holds": 1, "rejections": 0, "recovered": 0, "progress": 1, "consignees": 1}
    page = response.content.decode()
    assert "已向省局备案" in page
    for row in recall.batches.select_related("batch"):
        assert f"Hold {row.batch.batch_number}: Active" in page
    assert response.context["tasks"] == recall_tasks(Recall.objects.get(pk=recall.pk))
    notice = next(t for t in response.context["tasks"] if t.key == "notice")
    assert notice.done_on is None  # two of three consignees not notified yet
