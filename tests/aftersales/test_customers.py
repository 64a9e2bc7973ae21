"""Customers and GSP qualification (R-SHIP-3; GSP-5.3, 5.5; R-SEQ-2; R-SIG-1/2)."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.for_shipping import customer_may_buy
from aftersales.models import ApprovalRole, Customer, CustomerApproval, CustomerType, LicenceKind
from core.models import AuthEvent, Signature
from core.roles import ALL_ROLES
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import APPROVERS, customer_data, licence_data
from tests.aftersales.helpers import english_client, field_error, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 30)


def test_four_departments_approve_and_the_customer_becomes_qualified(qualified_customer):
    """R-SHIP-3, GSP-5.5: sales, QA, finance and the quality head each sign; then qualified."""
    approvals = CustomerApproval.objects.filter(customer=qualified_customer)
    assert {a.role for a in approvals} == set(ApprovalRole.values)
    assert len({a.approver_id for a in approvals}) == 4
    sigs = Signature.objects.for_record(qualified_customer)
    assert sigs.count() == 4
    assert all(s.meaning == Signature.Meaning.APPROVED and s.is_valid() for s in sigs)
    assert qualified_customer.history.first().status == Customer.Status.QUALIFIED


def test_the_approvals_may_come_in_any_order(submitted_customer, users):
    """GSP-5.5 lists four departments without a sequence: the quality head may sign first."""
    customer = submitted_customer
    for role in reversed(list(APPROVERS)):
        assert customer.status == Customer.Status.IN_APPROVAL
        customer = services.customer_approve(
            customer=customer, user=users[APPROVERS[role]], role=role, password=PASSWORD
        )
    assert customer.status == Customer.Status.QUALIFIED


def test_one_person_cannot_approve_for_two_departments(submitted_customer, make_user):
    """R-SEQ-2, GSP-5.5: four approvals are four people, even when one holds two roles."""
    both = make_user("sales", "finance", username="sales_and_finance")
    services.customer_approve(customer=submitted_customer, user=both, role=ApprovalRole.SALES, password=PASSWORD)
    with pytest.raises(WorkflowError, match="different person"):
        services.customer_approve(customer=submitted_customer, user=both, role=ApprovalRole.FINANCE, password=PASSWORD)
    assert Signature.objects.for_record(submitted_customer).count() == 1


def test_a_department_approves_once(submitted_customer, users, make_user):
    services.customer_approve(
        customer=submitted_customer, user=users["sales"], role=ApprovalRole.SALES, password=PASSWORD
    )
    other = make_user("sales", username="sales2")
    with pytest.raises(WorkflowError, match="already approved"):
        services.customer_approve(customer=submitted_customer, user=other, role=ApprovalRole.SALES, password=PASSWORD)


@pytest.mark.parametrize("role", list(ApprovalRole.values))
def test_each_approval_needs_its_own_role(submitted_customer, users, role):
    """Wrong role → the service refuses (the QA reviewer cannot approve for finance, etc.)."""
    for username in ("customer_service", "auditor", "qualified_person"):
        with pytest.raises(WorkflowError, match="permission"):
            services.customer_approve(customer=submitted_customer, user=users[username], role=role, password=PASSWORD)
    wrong = next(u for r, u in APPROVERS.items() if r != role)
    with pytest.raises(WorkflowError, match="permission"):
        services.customer_approve(customer=submitted_customer, user=users[wrong], role=role, password=PASSWORD)


def test_a_draft_cannot_be_approved(draft_customer, users):
    """R-SEQ-1: approval comes after submission."""
    with pytest.raises(WorkflowError):
        services.customer_approve(
            customer=draft_customer, user=users["sales"], role=ApprovalRole.SALES, password=PASSWORD
        )


def test_submission_needs_the_licences_of_the_customer_type(users):
    customer = services.customer_create(user=users["sales"], data=customer_data())
    with pytest.raises(WorkflowError, match="licences"):
        services.customer_submit(customer=customer, user=users["sales"])


def test_wrong_password_is_refused_counted_and_audited(submitted_customer, users):
    """R-SIG-1."""
    with pytest.raises(WorkflowError, match="Wrong password"):
        services.customer_approve(
            customer=submitted_customer, user=users["finance"], role=ApprovalRole.FINANCE, password="nope"
        )
    assert not CustomerApproval.objects.exists()
    users["finance"].refresh_from_db()
    assert users["finance"].failed_login_count == 1
    assert AuthEvent.objects.filter(user=users["finance"], kind=AuthEvent.Kind.SIGNATURE_FAILED).exists()


def test_a_change_after_qualification_needs_a_new_round(qualified_customer, users):
    """The approvals vouched for the data as it was: a change sends the customer back to draft."""
    customer = services.customer_update(
        customer=qualified_customer, user=users["sales"], data={"registered_address": "新地址"}, reason="迁址"
    )
    assert customer.status == Customer.Status.DRAFT and customer.approval_round == 2
    assert not customer.current_approvals().exists()
    assert customer.history.first().history_change_reason == "迁址"
    with pytest.raises(InputError):
        services.customer_update(customer=customer, user=users["sales"], data={"phone": "1"}, reason="")


def test_approval_through_the_page_shows_the_meaning_it_records(submitted_customer, users):
    """R-SIG-2: shown meaning = stored meaning; history row and signature written."""
    client = english_client(users["quality_head"])
    url = reverse("aftersales:customer_approve", args=[submitted_customer.pk])
    shown = shown_meaning(client.get(submitted_customer.get_absolute_url()).content.decode(), url)
    response = client.post(url, {"approve-role": "quality_head", "approve-password": PASSWORD})
    assert response.status_code == 302
    sig = Signature.objects.for_record(submitted_customer).get()
    assert sig.signer == users["quality_head"] and shown == "Approved" == Signature.Meaning(sig.meaning).label


def test_wrong_password_on_the_page_is_shown_beside_the_form(submitted_customer, users):
    response = english_client(users["finance"]).post(
        reverse("aftersales:customer_approve", args=[submitted_customer.pk]),
        {"approve-role": "finance", "approve-password": "wrong"},
    )
    assert response.status_code == 400 and "Wrong password" in response.content.decode()


APPROVE_ROLES = {"sales", "qa_reviewer", "finance", "quality_head"}


@pytest.mark.parametrize("role", ALL_ROLES)
def test_approve_url_is_403_for_roles_without_an_approval(role, submitted_customer, users):
    response = english_client(users[role]).post(
        reverse("aftersales:customer_approve", args=[submitted_customer.pk]),
        {"approve-role": "qa", "approve-password": PASSWORD},
    )
    assert (response.status_code == 403) == (role not in APPROVE_ROLES)


def test_licence_with_end_before_start_is_refused_beside_the_field(draft_customer, users):
    """R-UX-2."""
    response = english_client(users["sales"]).post(
        reverse("aftersales:licence_add", args=[draft_customer.pk]),
        {
            "kind": "business",
            "number": "X",
            "name_on_licence": "华东医药有限公司",
            "valid_from": "2026-01-01",
            "valid_to": "2025-01-01",
        },
    )
    assert response.status_code == 200
    assert "cannot end before it starts" in field_error(response, "valid_to")


def test_customer_form_missing_fields_shows_required_errors(users):
    response = english_client(users["sales"]).post(reverse("aftersales:customer_create"), {})
    assert response.status_code == 200
    assert field_error(response, "name")


# --- customer_may_buy (for the distribution form) ------------------------------------------------


def test_a_qualified_customer_with_valid_licences_may_buy(qualified_customer, approved_product):
    assert customer_may_buy(qualified_customer, approved_product, TODAY) == []


def test_not_qualified_customer_may_not_buy(submitted_customer, approved_product):
    reasons = customer_may_buy(submitted_customer, approved_product, TODAY)
    assert any("qualified-customer file" in r for r in reasons)


def test_an_expired_licence_blocks_the_sale(qualified_customer, approved_product):
    reasons = customer_may_buy(qualified_customer, approved_product, date(2100, 1, 1))
    assert any("not valid on 2100-01-01" in r for r in reasons)


def test_a_missing_licence_blocks_the_sale(users, approved_product):
    customer = services.customer_create(user=users["sales"], data=customer_data())
    services.licence_add(customer=customer, user=users["sales"], data=licence_data())
    reasons = customer_may_buy(customer, approved_product, TODAY)
    assert any("No Business licence" in r for r in reasons)


def test_scope_must_cover_the_dosage_form(users, approved_product):
    """GSP-5.3.3: a licence for tablets only does not cover capsules."""
    customer = services.customer_create(user=users["sales"], data=customer_data())
    services.licence_add(customer=customer, user=users["sales"], data=licence_data(scope_dosage_forms=["tablet"]))
    reasons = customer_may_buy(customer, approved_product, TODAY)
    assert any("does not cover Capsule" in r for r in reasons)


def test_names_and_seal_must_match(users, approved_product):
    """GSP-5.3.1."""
    customer = services.customer_create(user=users["sales"], data=customer_data(seal_name="华东医药公司"))
    services.licence_add(
        customer=customer,
        user=users["sales"],
        data=licence_data(name_on_licence="华东医药股份有限公司", seal_matches=False),
    )
    reasons = " ".join(customer_may_buy(customer, approved_product, TODAY))
    assert "seal name" in reasons and "name on the" in reasons and "not been confirmed" in reasons


def test_a_chain_pharmacy_outlet_is_never_supplied(users, approved_product):
    """GSP-5.3.4."""
    customer = services.customer_create(
        user=users["sales"], data=customer_data(customer_type=CustomerType.CHAIN_OUTLET)
    )
    (reason,) = customer_may_buy(customer, approved_product, TODAY)
    assert "chain-pharmacy outlet" in reason


def test_a_hospital_needs_its_practice_licence_not_a_drug_business_licence(users, approved_product):
    """GSP-5.4.1."""
    customer = services.customer_create(user=users["sales"], data=customer_data(customer_type=CustomerType.HOSPITAL))
    services.licence_add(
        customer=customer,
        user=users["sales"],
        data=licence_data(LicenceKind.MEDICAL_INSTITUTION, scope_dosage_forms=[]),
    )
    services.customer_submit(customer=customer, user=users["sales"])
    for role, username in APPROVERS.items():
        customer = services.customer_approve(customer=customer, user=users[username], role=role, password=PASSWORD)
    assert customer_may_buy(customer, approved_product, TODAY) == []


CUSTOMER_WRITERS = {
    "aftersales:customer_create": {"customer_service", "cs_manager", "sales"},
    "aftersales:customer_edit": {"sales", "qa_reviewer"},
    "aftersales:licence_add": {"sales", "qa_reviewer"},
    "aftersales:person_add": {"customer_service", "cs_manager", "sales", "qa_reviewer"},
}


@pytest.mark.parametrize("role", ALL_ROLES)
@pytest.mark.parametrize("name", list(CUSTOMER_WRITERS))
def test_customer_forms_open_only_for_their_roles(name, role, draft_customer, users):
    args = [] if name == "aftersales:customer_create" else [draft_customer.pk]
    response = english_client(users[role]).get(reverse(name, args=args))
    assert response.status_code == (200 if role in CUSTOMER_WRITERS[name] else 403)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_void_and_submit_urls_refuse_other_roles(role, draft_customer, users):
    client = english_client(users[role])
    void = client.post(reverse("aftersales:customer_void", args=[draft_customer.pk]), {})
    assert (void.status_code == 403) == (role not in {"sales", "qa_reviewer"})
    submit = client.post(reverse("aftersales:customer_submit", args=[draft_customer.pk]))
    assert (submit.status_code == 403) == (role not in {"customer_service", "cs_manager", "sales", "qa_reviewer"})


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in {"sales", "customer_service", "cs_manager"}])
def test_services_refuse_creating_customers_for_other_roles(role, users):
    with pytest.raises(WorkflowError, match="permission"):
        services.customer_create(user=users[role], data=customer_data())


def test_void_page_shows_the_meaning_it_records(draft_customer, users):
    """R-SIG-2, R-REC-1: voided with a reason and a signature; still readable."""
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:customer_void", args=[draft_customer.pk])
    shown = shown_meaning(client.get(draft_customer.get_absolute_url()).content.decode(), url)
    assert client.post(url, {"void-reason": "重复建档", "void-password": PASSWORD}).status_code == 302
    draft_customer.refresh_from_db()
    assert draft_customer.status == Customer.Status.VOIDED and draft_customer.void_reason == "重复建档"
    sig = Signature.objects.for_record(draft_customer).get()
    assert shown == Signature.Meaning(sig.meaning).label == "Voided"
    assert client.get(draft_customer.get_absolute_url()).status_code == 200


def test_licences_expiring_within_30_days(users, draft_customer):
    from datetime import timedelta

    from django.utils import timezone

    soon = timezone.localdate() + timedelta(days=10)
    services.licence_add(
        customer=draft_customer, user=users["sales"], data=licence_data(number="SOON-1", valid_to=soon)
    )
    page = english_client(users["qa_reviewer"]).get(reverse("aftersales:licences_expiring")).content.decode()
    assert "SOON-1" in page and "浙AAdru0001" not in page


def test_the_submit_page_refusal_names_missing_licences(users):
    customer = services.customer_create(user=users["sales"], data=customer_data())
    page = english_client(users["sales"]).get(customer.get_absolute_url()).content.decode()
    assert "Record these licences first" in page


def test_the_approval_queue_matches_the_predicate(submitted_customer, users, make_user):
    """The My-work SQL and cannot_approve_customer agree (one rule, two forms)."""
    both = make_user("sales", "finance", username="sales_and_finance")
    people = [users[u] for u in ("sales", "qa_reviewer", "finance", "quality_head", "customer_service")] + [both]

    def agree():
        for person in people:
            roles = [r for r in ApprovalRole.values if person.has_perm(f"aftersales.approve_customer_{r}")]
            in_queue = Customer.objects.awaiting_approval_by(person, roles).filter(pk=submitted_customer.pk).exists()
            assert in_queue == bool(services.approval_roles_for(submitted_customer, person)), person.username

    agree()
    services.customer_approve(customer=submitted_customer, user=both, role=ApprovalRole.SALES, password=PASSWORD)
    agree()
    services.customer_approve(
        customer=submitted_customer, user=users["finance"], role=ApprovalRole.FINANCE, password=PASSWORD
    )
    agree()
