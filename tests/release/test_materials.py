"""Material lots and their release by QA; a batch's bill of materials (R-MAT-1, R-SEQ-1/2, R-SIG-1, R-AT-1,
R-UX-2; GMP 第二百二十九条; ZL-086 4.2.2, 4.3.2.7)."""

from __future__ import annotations

from decimal import Decimal
from itertools import product as pairs

import pytest
from django.urls import reverse
from django.utils import translation

from core.models import Signature
from core.roles import ALL_ROLES, QA_REVIEWER
from core.workflow import WorkflowError, check_transition
from qc_records.models import TestRecord
from release import services
from release.models import BatchMaterial, MaterialLot
from tests.release.material_helpers import lot_data, make_lot, released_lot

pytestmark = pytest.mark.django_db

L = MaterialLot.Status
# The state table as designed, written independently of the model (R-SEQ-1, R-MAT-1).
ALLOWED = {(L.QUARANTINE, L.RELEASED), (L.QUARANTINE, L.REJECTED), (L.QUARANTINE, L.VOIDED)}


@pytest.fixture
def client_language():
    return "en"


@pytest.fixture(autouse=True)
def _english():
    """The services' refusals are read in English here."""
    with translation.override("en"):
        yield


@pytest.fixture
def lot(production_reviewer):
    return make_lot(production_reviewer)


def _form(**overrides) -> dict:
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in lot_data().items()}
    data.update(overrides)
    return data


@pytest.mark.parametrize(("current", "target"), list(pairs(L.values, repeat=2)), ids=lambda v: str(v))
def test_transition_matrix(current, target):
    obj = MaterialLot(status=current)
    if (current, target) in ALLOWED:
        check_transition(obj, target)
    else:
        with pytest.raises(WorkflowError):
            check_transition(obj, target)
    assert set(MaterialLot.TRANSITIONS) == set(L.values)


# --- registering a lot ------------------------------------------------------------------------------


def test_register_a_lot_from_the_page(production_reviewer, client_for):
    """R-MAT-1: a new lot is in quarantine; its first history row names who registered it."""
    response = client_for(production_reviewer).post(reverse("release:materiallot_create"), _form())
    lot = MaterialLot.objects.get()
    assert response.status_code == 302 and response["Location"] == lot.get_absolute_url()
    assert lot.status == L.QUARANTINE and lot.registered_by == production_reviewer
    assert lot.history.first().history_user == production_reviewer
    page = client_for(production_reviewer).get(lot.get_absolute_url()).content.decode()
    assert "YL2611001" in page and "Quarantine" in page and "示例原料药有限公司" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quantity", "五百", "Enter a number."),
        ("quantity", "-1", "The quantity must be greater than zero."),
        ("quantity", "0", "The quantity must be greater than zero."),
        ("expiry_date", "2026-10-01", "The expiry or retest date must be after the date received."),
        ("received_date", "not a date", "Enter a valid date."),
        ("qc_report_number", "QC-1999-9999", "No QC test record has the report number QC-1999-9999."),
        ("unit", "barrels", "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_beside_the_field(field, value, message, production_reviewer, client_for):
    """R-UX-2: a clear message beside the field, nothing written, no 500."""
    response = client_for(production_reviewer).post(reverse("release:materiallot_create"), _form(**{field: value}))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not MaterialLot.objects.exists()


def test_a_lot_number_is_registered_once_whatever_the_case(lot, production_reviewer, client_for):
    response = client_for(production_reviewer).post(
        reverse("release:materiallot_create"), _form(lot_number="yl2611001")
    )
    assert "is already registered" in " ".join(response.context["form"].errors["lot_number"])
    assert MaterialLot.objects.count() == 1


@pytest.mark.parametrize("role", ["qc_analyst", "qualified_person", "auditor", "customer_service"])
def test_roles_without_it_cannot_register(role, users, client_for):
    assert client_for(users[role]).post(reverse("release:materiallot_create"), _form()).status_code == 403
    with pytest.raises(WorkflowError):
        services.material_lot_create(user=users[role], data=lot_data())


# --- release, reject, void ---------------------------------------------------------------------------


def test_qa_releases_a_lot_with_a_signature(lot, qa_reviewer, client_for, password):
    """R-MAT-1, R-SIG-1: the signature's meaning is the one the form showed; the history row says so."""
    client = client_for(qa_reviewer)
    page = client.get(lot.get_absolute_url())
    form = page.context["release_form"]
    assert form.meaning_label == "Released" and "the meaning <strong>Released</strong>" in page.content.decode()
    response = client.post(
        reverse("release:materiallot_release", args=[lot.pk]),
        {"release-password": password, "release-comment": "检验合格"},
    )
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.status == L.RELEASED and lot.decided_by == qa_reviewer
    (sig,) = Signature.objects.for_record(lot)
    assert sig.meaning == form.meaning == Signature.Meaning.RELEASED and sig.signer == qa_reviewer
    last = lot.history.first()
    assert last.status == L.RELEASED and last.history_user == qa_reviewer and last.history_change_reason == "检验合格"


def test_releasing_twice_or_after_rejection_is_refused(lot, qa_reviewer, client_for, password):
    """R-SEQ-1: rejected is final; posting the release URL of a decided lot writes nothing."""
    services.material_lot_reject(lot=lot, user=qa_reviewer, password=password, reason="微生物限度不合格")
    response = client_for(qa_reviewer).post(
        reverse("release:materiallot_release", args=[lot.pk]), {"release-password": password}
    )
    assert response.status_code == 400
    with pytest.raises(WorkflowError):
        services.material_lot_release(lot=lot, user=qa_reviewer, password=password)
    lot.refresh_from_db()
    assert lot.status == L.REJECTED
    assert [s.meaning for s in Signature.objects.for_record(lot)] == [Signature.Meaning.REJECTED]


def test_reject_needs_a_reason_and_signs(lot, qa_reviewer, client_for, password):
    client = client_for(qa_reviewer)
    response = client.post(reverse("release:materiallot_reject", args=[lot.pk]), {"reject-password": password})
    assert response.status_code == 400 and response.context["reject_form"].errors["reason"]
    response = client.post(
        reverse("release:materiallot_reject", args=[lot.pk]),
        {"reject-password": password, "reject-reason": "含量不合格"},
    )
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.status == L.REJECTED and lot.decision_reason == "含量不合格"
    (sig,) = Signature.objects.for_record(lot)
    assert sig.meaning == Signature.Meaning.REJECTED
    assert lot.history.first().history_change_reason == "含量不合格"


def test_wrong_password_writes_nothing(lot, qa_reviewer, client_for):
    response = client_for(qa_reviewer).post(
        reverse("release:materiallot_release", args=[lot.pk]), {"release-password": "wrong"}
    )
    assert response.status_code == 400
    lot.refresh_from_db()
    assert lot.status == L.QUARANTINE and not Signature.objects.for_record(lot).exists()


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_other_roles_get_403_releasing(role, users, lot, client_for, password):
    client = client_for(users[role])
    for name in ("materiallot_release", "materiallot_reject", "materiallot_void"):
        response = client.post(reverse(f"release:{name}", args=[lot.pk]), {"release-password": password})
        assert response.status_code == 403, name
    with pytest.raises(WorkflowError):
        services.material_lot_release(lot=lot, user=users[role], password=password)
    with pytest.raises(WorkflowError):
        services.material_lot_reject(lot=lot, user=users[role], password=password, reason="x")
    lot.refresh_from_db()
    assert lot.status == L.QUARANTINE


def test_the_person_who_registered_a_lot_does_not_release_it(qa_reviewer, qa_reviewer2, client_for, password):
    """R-SEQ-2: nor is it in their My-work queue; another QA person's queue lists it."""
    lot = make_lot(qa_reviewer)
    with pytest.raises(WorkflowError, match="You registered this lot"):
        services.material_lot_release(lot=lot, user=qa_reviewer, password=password)
    page = client_for(qa_reviewer).get(lot.get_absolute_url())
    assert page.context["can_release"] is False
    assert "You registered this lot" in page.content.decode()
    mine = client_for(qa_reviewer).get(reverse("core:my_work")).content.decode()
    theirs = client_for(qa_reviewer2).get(reverse("core:my_work")).content.decode()
    assert "Material lots awaiting QA release" in theirs and "YL2611001" in theirs
    assert "YL2611001" not in mine


def _approved_record(users, review_batch) -> TestRecord:
    return TestRecord.objects.get(sample__batch=review_batch, status=TestRecord.Status.APPROVED)


def test_a_linked_qc_record_must_be_approved_and_comply(
    users, review_batch, production_reviewer, qa_reviewer, password, monkeypatch
):
    """R-MAT-1: release needs the linked QC record approved and complying (read through qc_records.for_release)."""
    from qc_records.for_release import RecordStatus
    from release.services import materials

    record = _approved_record(users, review_batch)
    lot = services.material_lot_create(
        user=production_reviewer, data=lot_data(), qc_report_number=record.report_number.lower()
    )
    assert lot.qc_record_id == record.pk
    real = materials.test_record_status
    for approved, complies, refusal in ((False, False, "is not approved yet"), (True, False, "does not comply")):
        status = RecordStatus(pk=record.pk, label="QC-X", url="/", approved=approved, complies=complies)
        monkeypatch.setattr(materials, "test_record_status", lambda *a, status=status, **k: status)
        assert refusal in services.cannot_release_material_lot(lot, qa_reviewer)
        with pytest.raises(WorkflowError, match=refusal):
            services.material_lot_release(lot=lot, user=qa_reviewer, password=password)
    monkeypatch.setattr(materials, "test_record_status", real)
    assert services.cannot_release_material_lot(lot, qa_reviewer) is None
    services.material_lot_release(lot=lot, user=qa_reviewer, password=password)


def test_void_with_a_reason_only_in_quarantine_and_unused(
    lot, production_reviewer, qa_reviewer, review_batch, password
):
    services.batch_material_add(batch=review_batch, user=production_reviewer, lot=lot, quantity=Decimal("10"))
    with pytest.raises(WorkflowError, match="bill of materials"):
        services.material_lot_void(lot=lot, user=qa_reviewer, password=password, reason="登记错误")
    other = make_lot(production_reviewer, lot_number="YL2611009")
    with pytest.raises(WorkflowError):
        services.material_lot_void(lot=other, user=qa_reviewer, password=password, reason=" ")
    services.material_lot_void(lot=other, user=qa_reviewer, password=password, reason="登记错误")
    other.refresh_from_db()
    assert other.status == L.VOIDED and other.void_reason == "登记错误"
    assert [s.meaning for s in Signature.objects.for_record(other)] == [Signature.Meaning.VOIDED]


def test_list_pages_use_a_bounded_number_of_queries(
    production_reviewer, auditor, client_for, django_assert_max_num_queries
):
    """R-PERF-1: the same number of queries for 3 lots as for 25."""
    client = client_for(auditor)
    for n in range(3):
        make_lot(production_reviewer, lot_number=f"YL{n:04d}")
    with django_assert_max_num_queries(12) as few:
        assert client.get(reverse("release:materiallot_list")).status_code == 200
    for n in range(3, 25):
        make_lot(production_reviewer, lot_number=f"YL{n:04d}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("release:materiallot_list") + "?status=quarantine&q=YL")
    assert response.status_code == 200 and response.context["page_obj"].paginator.count == 25


# --- a batch's bill of materials ---------------------------------------------------------------------


def test_add_a_lot_to_the_bill_of_materials(lot, review_batch, production_reviewer, client_for):
    """ZL-086 4.2.2: the batch records the lots it used. The lot is typed by its number, in any
    case (issue 12: the page lists no lots, a plant has thousands)."""
    client = client_for(production_reviewer)
    assert 'name="material-lot"' in client.get(review_batch.get_absolute_url()).content.decode()
    assert (
        "<option"
        not in client.get(review_batch.get_absolute_url()).content.decode().split('name="material-lot"')[1][:300]
    )
    response = client.post(
        reverse("release:batch_material_add", args=[review_batch.pk]),
        {"material-lot": lot.lot_number.lower(), "material-quantity": "12.5"},
    )
    assert response.status_code == 302
    line = BatchMaterial.objects.get()
    assert line.batch == review_batch and line.lot == lot and line.quantity == Decimal("12.500")
    assert line.history.first().history_user == production_reviewer
    page = client.get(review_batch.get_absolute_url()).content.decode()
    assert "YL2611001" in page and "12.5" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"material-quantity": "很多"}, "quantity", "Enter a number."),
        ({"material-quantity": "-3"}, "quantity", "greater than zero"),
        ({"material-quantity": "501"}, "quantity", "Only 500"),
        (
            {"material-quantity": "1", "material-lot": "NO-SUCH-LOT"},
            "lot",
            "No material lot has the number NO-SUCH-LOT.",
        ),
    ],
)
def test_bad_bill_of_materials_input(data, field, message, lot, review_batch, production_reviewer, client_for):
    post = {"material-lot": lot.lot_number, **data}
    response = client_for(production_reviewer).post(reverse("release:batch_material_add", args=[review_batch.pk]), post)
    assert response.status_code == 400
    assert message in " ".join(response.context["material_form"].errors[field])
    assert not BatchMaterial.objects.exists()


def test_a_voided_or_decided_batch_takes_no_more_materials(
    lot, review_batch, production_reviewer, qa_reviewer, password, client_for
):
    services.batch_void(batch=review_batch, user=qa_reviewer, password=password, reason="登记错误")
    with pytest.raises(WorkflowError, match="can no longer be added"):
        services.batch_material_add(batch=review_batch, user=production_reviewer, lot=lot, quantity=Decimal("1"))
    response = client_for(production_reviewer).post(
        reverse("release:batch_material_add", args=[review_batch.pk]),
        {"material-lot": lot.lot_number, "material-quantity": "1"},
    )
    assert response.status_code == 400 and "can no longer be added" in response.content.decode()
    assert not BatchMaterial.objects.exists()


@pytest.mark.parametrize("role", ["qc_analyst", "qc_reviewer", "qualified_person", "auditor", "customer_service"])
def test_roles_without_it_cannot_add_materials(role, users, lot, review_batch, client_for):
    response = client_for(users[role]).post(
        reverse("release:batch_material_add", args=[review_batch.pk]),
        {"material-lot": lot.lot_number, "material-quantity": "1"},
    )
    assert response.status_code == 403
    with pytest.raises(WorkflowError):
        services.batch_material_add(batch=review_batch, user=users[role], lot=lot, quantity=Decimal("1"))


def test_released_lot_helper(production_reviewer, qa_reviewer):
    assert released_lot(production_reviewer, qa_reviewer).status == L.RELEASED


def test_link_the_qc_record_once_tested(
    users, review_batch, lot, production_reviewer, qa_reviewer, client_for, password
):
    """R-MAT-1: QC tests after receipt; the report is linked with a reason (history row), then QA releases."""
    record = _approved_record(users, review_batch)
    client = client_for(production_reviewer)
    url = reverse("release:materiallot_link_qc", args=[lot.pk])
    response = client.post(url, {"link-qc_report_number": "QC-1999-0001", "link-reason": "检验完成"})
    assert response.status_code == 400
    assert "No QC test record has the report number" in " ".join(
        response.context["link_form"].errors["qc_report_number"]
    )
    response = client.post(url, {"link-qc_report_number": record.report_number})
    assert response.status_code == 400 and response.context["link_form"].errors["reason"]
    response = client.post(url, {"link-qc_report_number": record.report_number, "link-reason": "检验完成"})
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.qc_record_id == record.pk
    assert lot.history.first().history_change_reason == "检验完成"
    page = client.get(lot.get_absolute_url()).content.decode()
    assert record.report_number in page
    services.material_lot_release(lot=lot, user=qa_reviewer, password=password)
    with pytest.raises(WorkflowError, match="Only a lot in quarantine"):
        services.material_lot_link_qc(
            lot=lot, user=production_reviewer, qc_report_number=record.report_number, reason="x"
        )


@pytest.mark.parametrize("role", ["qc_analyst", "qualified_person", "auditor", "customer_service"])
def test_roles_without_it_cannot_link_a_qc_record(role, users, lot, client_for):
    url = reverse("release:materiallot_link_qc", args=[lot.pk])
    assert client_for(users[role]).post(url, {"link-qc_report_number": "X", "link-reason": "x"}).status_code == 403
    with pytest.raises(WorkflowError):
        services.material_lot_link_qc(lot=lot, user=users[role], qc_report_number="X", reason="x")
