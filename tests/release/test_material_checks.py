"""The review reads the materials used and the material balance from data (R-REL-3, R-REL-4, R-REL-8,
R-MAT-1; ZL-086 4.2.2, 4.2.8, 4.3.2.7): ok with links, a hard blocker naming the lot, or "unknown"."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from core.workflow import InputError, WorkflowError
from release import balance, checks, services
from release.models import Batch, MaterialBalance, Stage
from tests.factories import PASSWORD
from tests.release.material_helpers import make_lot, released_lot
from tests.release.review_helpers import answers_for, to_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_language():
    return "en"


@pytest.fixture(autouse=True)
def _english():
    """The services' refusals are read in English here."""
    with translation.override("en"):
        yield


def _checks(batch):
    with translation.override("en"):
        ev = checks.evidence_for(Batch.objects.get(pk=batch.pk))
        return checks.checks(ev), checks.blockers(ev, None, [])


def test_no_bill_of_materials_and_no_balance_read_unknown(review_batch):
    """R-REL-3: no evidence is never "ok"."""
    found, blockers = _checks(review_batch)
    assert found["materials"].status == checks.UNKNOWN and "No bill of materials" in found["materials"].message
    assert found["material_balance"].status == checks.UNKNOWN
    assert not [b for b in blockers if "Material lot" in b]


def test_every_lot_released_reads_ok_with_links(review_batch, p, users):
    lot = released_lot(p.production, p.qa)
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    found, blockers = _checks(review_batch)
    check = found["materials"]
    # The lot has no QC record linked: released, but its report is not in the system → unknown, not ok.
    assert check.status == checks.UNKNOWN and "No QC test record linked" in check.message
    assert [e.url for e in check.evidence] == [lot.get_absolute_url()]
    assert not [b for b in blockers if "Material lot" in b]


def test_released_lots_with_qc_records_read_ok(review_batch, p, users):
    from qc_records.models import TestRecord

    record = TestRecord.objects.get(sample__batch=review_batch, status=TestRecord.Status.APPROVED)
    lot = services.material_lot_create(
        user=p.production,
        data=dict(
            material_name="胶囊壳",
            material_code="BC-002",
            supplier="示例胶囊有限公司",
            supplier_lot="JN-7",
            lot_number="BC2611001",
            received_date=review_batch.manufacture_date,
            quantity=Decimal("100"),
            unit="pieces",
            expiry_date=review_batch.expiry_date,
        ),
        qc_report_number=record.report_number,
    )
    services.material_lot_release(lot=lot, user=p.qa, password=PASSWORD)
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    found, _ = _checks(review_batch)
    assert found["materials"].status == checks.OK
    assert "1 lot(s) used, released by QA." in found["materials"].message


@pytest.mark.parametrize("rejected", [False, True])
def test_a_lot_in_quarantine_or_rejected_is_a_hard_blocker_naming_it(rejected, review_batch, p):
    """R-REL-4, R-MAT-1."""
    lot = make_lot(p.production)
    if rejected:
        services.material_lot_reject(lot=lot, user=p.qa, password=PASSWORD, reason="不合格")
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    found, blockers = _checks(review_batch)
    assert found["materials"].status == checks.PROBLEM
    state = "Rejected" if rejected else "Quarantine"
    assert f"Lot YL2611001 (阿莫西林) is {state}, not released." in found["materials"].message
    assert f"Material lot YL2611001 (阿莫西林) used by this batch is {state}, not released." in blockers


def test_the_review_page_shows_the_blocker(review_batch, p, client_for, designation):
    lot = make_lot(p.production)
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    services.review_start(batch=review_batch, user=p.production)
    page = client_for(p.production).get(reverse("release:batch_review", args=[review_batch.pk])).content.decode()
    assert "Material lot YL2611001 (阿莫西林) used by this batch is Quarantine, not released." in page
    # P-4.2.2 / QC-4.3.2.7 link the lot as evidence.
    assert f'href="{lot.get_absolute_url()}"' in page


def test_the_qp_cannot_release_a_batch_made_with_an_unreleased_lot(review_batch, p, designation):
    """R-MAT-1 through the real services: a quarantined lot recorded after the stamp stops the QP's release;
    QA could not have concluded conforming with it either."""
    good = released_lot(p.production, p.qa)
    services.batch_material_add(batch=review_batch, user=p.production, lot=good, quantity=Decimal("20"))
    to_stage(review_batch, p, Stage.QP)
    late = make_lot(p.production, lot_number="YL2611002")
    services.batch_material_add(batch=review_batch, user=p.production, lot=late, quantity=Decimal("5"))
    with translation.override("en"), pytest.raises(WorkflowError, match="YL2611002"):
        services.review_release(batch=review_batch, user=p.qp, password=PASSWORD, comment="放行")
    review_batch.refresh_from_db()
    assert review_batch.status == Batch.Status.UNDER_REVIEW
    # Released by QA, the same lot no longer blocks.
    services.material_lot_release(lot=late, user=p.qa, password=PASSWORD)
    services.review_release(batch=review_batch, user=p.qp, password=PASSWORD, comment="放行")
    review_batch.refresh_from_db()
    assert review_batch.status == Batch.Status.RELEASED
    # And a released batch takes no more materials.
    with pytest.raises(WorkflowError):
        services.batch_material_add(batch=review_batch, user=p.production, lot=good, quantity=Decimal("1"))


def test_qa_cannot_conclude_conforming_with_an_unreleased_lot(review_batch, p):
    lot = make_lot(p.production)
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    with pytest.raises(WorkflowError):
        to_stage(review_batch, p, Stage.STAMP)
    review_batch.review.refresh_from_db()
    assert review_batch.review.status == "qa"


# --- material balance (R-REL-8) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("theoretical", "actual", "samples", "waste", "expected"),
    [
        ("100.000", "97.555", "0.300", "0.120", "97.98"),  # 97.975 rounds half up
        ("3", "2", "0", "0", "66.67"),
        ("120000", "119640", "60", "0", "99.75"),
        ("0.001", "0.001", "0", "0", "100.00"),
        ("7", "7.5", "0", "0", "107.14"),
    ],
)
def test_formula_v1_with_decimals(theoretical, actual, samples, waste, expected):
    value = balance.balance_percent(
        theoretical=Decimal(theoretical), actual=Decimal(actual), samples=Decimal(samples), waste=Decimal(waste)
    )
    assert value == Decimal(expected) and str(value) == expected


def test_formula_refuses_an_unknown_version_or_zero():
    with pytest.raises(ValueError):
        balance.balance_percent(theoretical=Decimal(1), actual=Decimal(1), version=2)
    with pytest.raises(ValueError):
        balance.balance_percent(theoretical=Decimal(0), actual=Decimal(1))


def _post_balance(client, batch, **overrides):
    data = {
        "balance-step": "制粒",
        "balance-theoretical": "100.000",
        "balance-actual": "97.555",
        "balance-samples": "0.3",
        "balance-waste": "0.12",
        "balance-unit": "kg",
    }
    data.update({f"balance-{k}": v for k, v in overrides.items()})
    return client.post(reverse("release:batch_material_balance_add", args=[batch.pk]), data)


def test_record_a_step_the_system_computes_and_stores_the_formula_version(review_batch, p, client_for):
    response = _post_balance(client_for(p.production), review_batch)
    assert response.status_code == 302
    row = MaterialBalance.objects.get()
    assert row.percent == Decimal("97.98") and row.formula_version == balance.CURRENT_VERSION == 1
    assert (row.lower_limit, row.upper_limit) == (Decimal("95.00"), Decimal("101.00")) and row.within_limits
    assert row.history.first().history_user == p.production
    found, _ = _checks(review_batch)
    assert found["material_balance"].status == checks.OK
    assert "制粒: 97.98 % (limits 95.00–101.00 %, formula v1)." in found["material_balance"].message
    page = client_for(p.production).get(review_batch.get_absolute_url()).content.decode()
    assert "97.98" in page and "within limits" in page


def test_out_of_limits_flags_p_4_2_8_and_needs_a_justification(review_batch, p, client_for):
    """R-REL-8: the figures are named; 符合 against the finding needs a justification (R-REL-3)."""
    _post_balance(client_for(p.production), review_batch, actual="90", samples="0", waste="0")
    found, blockers = _checks(review_batch)
    assert found["material_balance"].status == checks.PROBLEM
    assert "制粒: 90.00 % is outside the limits 95.00–101.00 % (formula v1)." in found["material_balance"].message
    services.review_start(batch=review_batch, user=p.production)
    unjustified = answers_for(
        Stage.PRODUCTION, overrides={"P-4.2.8": services.ItemAnswer(answer="conforms", justification="")}
    )
    with translation.override("en"), pytest.raises(InputError) as refused:
        services.review_production(batch=review_batch, user=p.production, password=PASSWORD, answers=unjustified)
    assert "P-4.2.8" in str(refused.value.errors["item:P-4.2.8"]) and "90.00" in str(
        refused.value.errors["item:P-4.2.8"]
    )
    step = services.review_production(
        batch=review_batch, user=p.production, password=PASSWORD, answers=answers_for(Stage.PRODUCTION)
    )
    assert step is not None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("theoretical", "一百", "Enter a number."),
        ("actual", "abc", "Enter a number."),
        ("theoretical", "0", "The theoretical quantity must be greater than zero."),
        ("theoretical", "-5", "The theoretical quantity must be greater than zero."),
        ("actual", "-1", "greater than or equal to 0"),
        ("samples", "x", "Enter a number."),
        ("step", "", "This field is required."),
        ("theoretical", "1e999", "Enter a number."),
    ],
)
def test_bad_balance_input_is_shown_beside_the_field(field, value, message, review_batch, p, client_for):
    """Issue 9 "bad input": text in a number field of the material balance → a message, nothing written, no 500."""
    response = _post_balance(client_for(p.production), review_batch, **{field: value})
    assert response.status_code == 400
    errors = " ".join(response.context["balance_form"].errors.get(field, []))
    assert message in errors or (field == "theoretical" and value == "1e999" and errors)
    assert not MaterialBalance.objects.exists()


def test_the_service_refuses_bad_figures_from_any_caller(review_batch, p):
    with pytest.raises(InputError) as refused:
        services.material_balance_add(
            batch=review_batch,
            user=p.production,
            data={"step": "压片", "theoretical": Decimal(0), "actual": Decimal(1), "unit": "kg"},
        )
    assert "theoretical" in refused.value.errors


@pytest.mark.parametrize("role", ["qc_analyst", "qc_reviewer", "qa_reviewer", "qualified_person", "auditor"])
def test_roles_without_it_cannot_record_a_balance(role, users, review_batch, client_for):
    assert _post_balance(client_for(users[role]), review_batch).status_code == 403
    with pytest.raises(WorkflowError):
        services.material_balance_add(
            batch=review_batch,
            user=users[role],
            data={"step": "压片", "theoretical": Decimal(1), "actual": Decimal(1), "unit": "kg"},
        )


def test_product_limits_are_checked(approved_product, qa_reviewer):
    with pytest.raises(InputError) as refused:
        services.product_update(
            product=approved_product,
            user=qa_reviewer,
            data={"balance_lower_limit": Decimal("99"), "balance_upper_limit": Decimal("98")},
            reason="调整限度",
        )
    assert "balance_lower_limit" in refused.value.errors


def test_the_dossier_holds_the_bill_of_materials_and_the_balance(review_batch, p, auditor, client_for):
    """R-REC-3, R-MAT-1, R-REL-8: each lot used with its release signature, each balance row."""
    import json

    lot = released_lot(p.production, p.qa)
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    _post_balance(client_for(p.production), review_batch)
    data = json.loads(client_for(auditor).get(reverse("release:batch_dossier", args=[review_batch.pk])).content)
    (line,) = data["bill_of_materials"]
    assert line["lot"]["data"]["lot_number"] == "YL2611001" and line["lot"]["signatures"][0]["valid"]
    assert line["history"]
    (row,) = data["material_balances"]
    assert row["data"]["percent"] == "97.98" and row["data"]["formula_version"] == 1


def test_a_lot_expired_before_the_batch_was_made_is_a_hard_blocker_naming_it(review_batch, p, designation):
    """R-REL-4, R-MAT-1 (issue 9 item 6): a released lot whose expiry (retest) date is before the
    batch's manufacture date reads "problem" on P-4.2.2 and blocks the QP's release, naming the lot
    and both dates; a lot expiring on the manufacture date itself is still in date."""
    from datetime import date

    lot = released_lot(
        p.production, p.qa, lot_number="YL2410009", received_date=date(2024, 10, 1), expiry_date=date(2026, 11, 1)
    )
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    message = "Material lot YL2410009 (阿莫西林) expired on 2026-11-01, before the batch was made on 2026-11-02."
    found, blockers = _checks(review_batch)
    assert found["materials"].status == checks.PROBLEM and message in found["materials"].message
    assert message in blockers
    to_stage(review_batch, p, Stage.QA)
    with pytest.raises(InputError) as refused:
        services.review_qa(
            batch=review_batch,
            user=p.qa,
            password=PASSWORD,
            answers=answers_for(Stage.QA),
            production_verdict="pass",
            testing_verdict="pass",
            audit_trail_reviewed=True,
        )
    assert message in refused.value.errors[""]


def test_a_lot_expiring_on_the_manufacture_date_is_in_date(review_batch, p):
    from datetime import date

    lot = released_lot(
        p.production, p.qa, lot_number="YL2410010", received_date=date(2024, 10, 1), expiry_date=date(2026, 11, 2)
    )
    services.batch_material_add(batch=review_batch, user=p.production, lot=lot, quantity=Decimal("20"))
    found, blockers = _checks(review_batch)
    assert not [b for b in blockers if "expired" in b]
    assert "expired" not in found["materials"].message
