"""Issue 7 (smaller item): from an OOS investigation, QA opens a release deviation raised for it,
or links an existing open one; the link shows on both pages (R-QC-5, R-REL-4; GMP 第二百五十条,
FDA OOS guidance). release points down to qc_records; qc_records reads the link back without
importing release (DESIGN.md)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.workflow import WorkflowError
from qc_records.models import OOSInvestigation
from release import services as release_services
from release.models import Deviation

pytestmark = pytest.mark.django_db

EVENT = {"title": "实验室偏差", "description": "描述", "classification": "major"}


def _url(oos: OOSInvestigation) -> str:
    return reverse("release:deviation_for_oos", args=[oos.pk])


def test_qa_opens_a_deviation_for_an_oos_shown_on_both_pages(qc, client_for, oos_record):
    """From the OOS page QA follows "Open or link a deviation", finds the form pre-filled from the
    OOS (title, description, batch) and raises it: numbered, linked, audited, on both pages."""
    oos = OOSInvestigation.objects.get()
    client = client_for(qc.qa)
    oos_page = client.get(oos.get_absolute_url()).content.decode()
    assert _url(oos) in oos_page and "Open or link a deviation" in oos_page
    form_page = client.get(_url(oos))
    assert form_page.status_code == 200
    html = form_page.content.decode()
    assert f"OOS {oos.number}: 含量测定" in html and oos_record.sample.batch.batch_number in html
    response = client.post(
        _url(oos),
        {
            "action": "new",
            "new-title": f"OOS {oos.number}: 含量测定",
            "new-description": "含量测定结果超标，按偏差处理",
            "new-classification": "major",
            "new-batch_numbers": oos_record.sample.batch.batch_number,
        },
        follow=True,
    )
    deviation = Deviation.objects.get()
    assert deviation.oos == oos and list(deviation.batches.all()) == [oos_record.sample.batch]
    assert deviation.raised_by == qc.qa and deviation.history.first().history_change_reason == "raised"
    page = response.content.decode()
    assert f"{deviation.number} was raised for {oos.number}." in page
    assert 'data-testid="deviation-oos"' in page and oos.get_absolute_url() in page
    oos_page = client.get(oos.get_absolute_url()).content.decode()
    shown = oos_page.split('data-testid="oos-deviations"')[1].split("</dd>")[0]
    assert deviation.number in shown and deviation.get_absolute_url() in shown and "Open" in shown


def test_qa_links_an_existing_open_deviation_with_a_reason(qc, client_for, oos_record):
    """The link is written with a reason to the deviation's audit trail; a wrong number, a missing
    reason, a closed deviation and one already linked elsewhere are refused, nothing lost."""
    oos = OOSInvestigation.objects.get()
    deviation = release_services.deviation_create(user=qc.qa, data=EVENT)
    client = client_for(qc.qa)
    bad = client.post(_url(oos), {"action": "link", "link-number": "DEV-1999-9999", "link-reason": "关联"})
    assert bad.status_code == 400 and "No deviation has the number DEV-1999-9999" in bad.content.decode()
    no_reason = client.post(_url(oos), {"action": "link", "link-number": deviation.number, "link-reason": ""})
    assert no_reason.status_code == 400
    assert "Give a reason for the change" in no_reason.content.decode()
    assert f'value="{deviation.number}"' in no_reason.content.decode()  # what was typed is kept
    response = client.post(
        _url(oos),
        {"action": "link", "link-number": deviation.number.lower(), "link-reason": "该偏差即为此OOS所开"},
        follow=True,
    )
    assert f"{deviation.number} is linked to {oos.number}." in response.content.decode()
    deviation.refresh_from_db()
    assert deviation.oos == oos
    assert deviation.history.first().history_change_reason == "该偏差即为此OOS所开"
    again = client.post(_url(oos), {"action": "link", "link-number": deviation.number, "link-reason": "再关联"})
    assert (
        again.status_code == 400 and f"{deviation.number} is already linked to {oos.number}." in again.content.decode()
    )


def test_a_closed_deviation_cannot_be_linked(qc, oos_record):
    oos = OOSInvestigation.objects.get()
    deviation = release_services.deviation_create(
        user=qc.qa, data={**EVENT, "investigation": "调查", "conclusion": "结论"}
    )
    from tests.factories import PASSWORD

    release_services.deviation_close(deviation=deviation, user=qc.qa, password=PASSWORD)
    with pytest.raises(WorkflowError, match="is closed"):
        release_services.deviation_link_oos(deviation=deviation, oos=oos, user=qc.qa, reason="关联")


@pytest.mark.parametrize("role", ["analyst", "head", "auditor"])
def test_roles_that_do_not_raise_deviations_get_403(qc, client_for, oos_record, role):
    """Only people who may raise deviations open the page; the OOS page offers no link to others."""
    oos = OOSInvestigation.objects.get()
    client = client_for(getattr(qc, role))
    assert client.get(_url(oos)).status_code == 403
    assert client.post(_url(oos), {"action": "new", "new-title": "x"}).status_code == 403
    assert _url(oos) not in client.get(oos.get_absolute_url()).content.decode()
    with pytest.raises(WorkflowError):
        release_services.deviation_link_oos(
            deviation=release_services.deviation_create(user=qc.qa, data=EVENT),
            oos=oos,
            user=getattr(qc, role),
            reason="x",
        )


def test_qc_records_does_not_import_release():
    """DESIGN.md: imports point release → qc_records only; the OOS page reads the link through the
    reverse relation of release's foreign key."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "qc_records"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if "migrations" not in p.parts and ("from release" in p.read_text() or "import release" in p.read_text())
    ]
    assert offenders == []
