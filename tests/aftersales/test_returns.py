"""Returned goods (R-RET-1; GMP 第一百三十六–一百三十七、二百九十四条; sop-checklists B.2.5), and the
replacement shipment of a sales-chain complaint whose responsibility is ours (R-CMP-1; AS-4.2.5)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from aftersales import services
from aftersales.models import Complaint, GoodsReturn, Shipment
from core.models import Signature
from core.roles import ALL_ROLES, CS_MANAGER, CUSTOMER_SERVICE, QA_REVIEWER
from core.workflow import InputError, WorkflowError
from tests.aftersales.conftest import TODAY, feedback_data, qualify, ship_data
from tests.aftersales.helpers import english_client, shown_meaning
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(released, qualified_customer, users):
    return services.shipment_create(user=users["sales"], data=ship_data(released, qualified_customer, quantity=100))


def return_data(shipment, **overrides):
    data = dict(
        customer=shipment.customer,
        batch=shipment.batch,
        quantity=30,
        channel="customer",
        quality_reason=False,
        reason="滞销退回",
        received_on=TODAY(),
        condition="外包装完好",
        storage_history="客户仓库常温储存，有温湿度记录",
        storage_conditions="met",
        complaint=None,
    )
    data.update(overrides)
    return data


def test_return_recorded_in_quarantine(shipped, users):
    goods = services.return_record(user=users["customer_service"], data=return_data(shipped))
    assert goods.status == GoodsReturn.Status.QUARANTINE and goods.number.startswith("RET-")
    assert goods.product == shipped.product and goods.complaint is None
    assert goods.history.get().history_user == users["customer_service"]


def test_quantity_never_more_than_shipped_less_returned(shipped, users):
    """R-RET-1: ≤ shipped to that customer of that batch, minus earlier returns."""
    services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=70))
    with pytest.raises(InputError) as exc:
        services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=31))
    assert "can return at most 30 of batch S2610001" in str(exc.value.errors["quantity"])
    services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=30, channel="transport"))
    assert GoodsReturn.objects.count() == 2


def test_customer_that_got_nothing_returns_nothing(shipped, users):
    other = qualify(users)
    with pytest.raises(InputError, match="at most 0"):
        services.return_record(user=users["customer_service"], data=return_data(shipped, customer=other, quantity=1))


def test_void_of_a_shipment_with_returns_refused(shipped, users):
    services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=1))
    with pytest.raises(WorkflowError, match="would exceed"):
        services.shipment_void(shipment=shipped, user=users["sales"], password=PASSWORD, reason="错")


def test_quality_return_opens_a_complaint(shipped, users):
    """R-RET-1 / AS-4.2.4: a return on quality grounds also opens a complaint (through the intake)."""
    goods = services.return_record(
        user=users["customer_service"],
        data=return_data(shipped, quality_reason=True, reason="胶囊粘连", channel="complaint"),
    )
    assert goods.complaint is not None
    assert goods.complaint.triage == Complaint.Triage.RETURN and goods.complaint.return_expected
    assert goods.complaint.batch == shipped.batch


def test_returns_of_one_batch_by_channel_listed_separately(shipped, users):
    services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=5, channel="transport"))
    services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=6, channel="customer"))
    page = english_client(users["qa_reviewer"]).get(reverse("aftersales:return_list"))
    rows = list(page.context["page_obj"])
    assert [r.channel for r in rows] == ["customer", "transport"]


def test_returns_are_listed_by_batch_number_then_channel_whatever_order_the_batches_came_in(
    shipped, released, qualified_customer, users, admin_user
):
    """R-RET-1 / issue 12: the list is ordered by batch number (looked up per return, not by
    joining every batch), then channel, newest first; it prints each row's batch number and
    returning unit and loads no field row by row."""
    from release.models import Batch
    from tests.core.helpers import deferred_loads
    from tests.factories import BatchFactory

    earlier = BatchFactory(  # created after S2610001 but numbered before it
        product=released.product, batch_number="A2610009", status=Batch.Status.RELEASED, last_changed_by=admin_user
    )
    other = services.shipment_create(user=users["sales"], data=ship_data(earlier, qualified_customer, quantity=50))
    cs = users["customer_service"]
    services.return_record(user=cs, data=return_data(shipped, quantity=5, channel="transport"))
    services.return_record(user=cs, data=return_data(other, quantity=7, channel="transport"))
    services.return_record(user=cs, data=return_data(shipped, quantity=6, channel="customer"))
    services.return_record(user=cs, data=return_data(other, quantity=8, channel="customer"))
    with deferred_loads() as loaded:
        page = english_client(users["qa_reviewer"]).get(reverse("aftersales:return_list"))
    assert loaded == []
    rows = list(page.context["page_obj"])
    assert [(r.batch.batch_number, r.channel, r.quantity) for r in rows] == [
        ("A2610009", "customer", 8),
        ("A2610009", "transport", 7),
        ("S2610001", "customer", 6),
        ("S2610001", "transport", 5),
    ]
    text = page.content.decode()
    assert text.index("A2610009") < text.index("S2610001")
    assert text.count(qualified_customer.name) >= 4


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"quantity": 0}, "quantity", "greater than zero"),
        ({"quantity": -3}, "quantity", "greater than zero"),
        ({"quantity": 10**11}, "quantity", "implausibly large"),
        ({"reason": "  "}, "reason", "required"),
        ({"received_on": TODAY() + timedelta(days=2)}, "received_on", "future"),
    ],
)
def test_bad_return_input(shipped, users, overrides, field, message):
    with pytest.raises(InputError) as exc:
        services.return_record(user=users["customer_service"], data=return_data(shipped, **overrides))
    assert message in " ".join(str(m) for m in exc.value.errors[field])
    assert not GoodsReturn.objects.exists()


def test_return_form_text_quantity_no_500(shipped, users):
    client = english_client(users["customer_service"])
    response = client.post(
        reverse("aftersales:return_create"),
        {"customer": shipped.customer_id, "batch": shipped.batch_id, "quantity": "十", "channel": "customer"},
    )
    assert response.status_code == 400 and "Enter a whole number" in response.content.decode()


@pytest.fixture
def quarantined(shipped, users):
    return services.return_record(user=users["customer_service"], data=return_data(shipped))


def test_qa_evaluates_and_restocks_with_signatures(quarantined, users):
    """R-RET-1: QA's signed evaluation; the meaning shown is the meaning stored (R-SIG-2)."""
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:return_evaluate", args=[quarantined.pk])
    shown = shown_meaning(client.get(quarantined.get_absolute_url()).content.decode(), url)
    response = client.post(
        url,
        {
            "evaluate-decision": "restock",
            "evaluate-evaluation": "外观完好，储存记录齐全",
            "evaluate-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.status == GoodsReturn.Status.EVALUATED and quarantined.evaluated_by == users["qa_reviewer"]
    sig = Signature.objects.for_record(quarantined).get()
    assert sig.is_valid() and shown == Signature.Meaning(sig.meaning).label
    url = reverse("aftersales:return_restock", args=[quarantined.pk])
    shown = shown_meaning(client.get(quarantined.get_absolute_url()).content.decode(), url)
    assert client.post(url, {"restock-password": PASSWORD}).status_code == 302
    quarantined.refresh_from_db()
    assert quarantined.status == GoodsReturn.Status.RESTOCKED
    assert shown == Signature.Meaning(Signature.Meaning.RESTOCKED).label == "Returned to saleable stock"
    assert Signature.objects.for_record(quarantined).count() == 2
    assert quarantined.history.count() == 3


def test_the_return_page_names_its_people_from_one_query(quarantined, users, django_assert_max_num_queries):
    """Issue 12: the return's people (recorded, evaluated, completed by) come in one query of their
    own, not joined with the return; the page still names each."""
    services.return_evaluate(
        goods=quarantined, user=users["qa_reviewer"], decision="restock", evaluation="外观完好", password=PASSWORD
    )
    client = english_client(users["qa_reviewer"])
    with django_assert_max_num_queries(20) as ctx:
        page = client.get(quarantined.get_absolute_url()).content.decode()
    assert users["customer_service"].printed_name in page and users["qa_reviewer"].printed_name in page
    accounts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "core_user"')]
    assert len(accounts) == 2, accounts  # the person signed in, then the return's people at once
    main = next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "aftersales_goodsreturn"."id"'))
    assert '"core_user"' not in main


@pytest.mark.parametrize("conditions", ["not_met", "doubtful"])
def test_storage_not_met_or_doubtful_never_restocks(shipped, users, conditions):
    goods = services.return_record(
        user=users["customer_service"], data=return_data(shipped, storage_conditions=conditions)
    )
    with pytest.raises(InputError) as exc:
        services.return_evaluate(
            goods=goods, user=users["qa_reviewer"], password=PASSWORD, decision="restock", evaluation="看起来好"
        )
    assert "destroyed, never restocked" in str(exc.value.errors["decision"])
    goods.refresh_from_db()
    assert goods.status == GoodsReturn.Status.QUARANTINE and not Signature.objects.for_record(goods).exists()
    goods = services.return_evaluate(
        goods=goods, user=users["qa_reviewer"], password=PASSWORD, decision="destroy", evaluation="储存条件不符"
    )
    with pytest.raises(WorkflowError, match="never restocked"):
        services.return_restock(goods=goods, user=users["qa_reviewer"], password=PASSWORD)


def test_destruction_recorded_under_supervision(quarantined, users):
    """R-RET-1: the destruction is signed "Destroyed" (shown on the form as stored), by the supervisor."""
    goods = services.return_evaluate(
        goods=quarantined, user=users["qa_reviewer"], password=PASSWORD, decision="destroy", evaluation="包装破损"
    )
    client = english_client(users["qa_reviewer"])
    url = reverse("aftersales:return_destroy", args=[goods.pk])
    assert shown_meaning(client.get(goods.get_absolute_url()).content.decode(), url) == "Destroyed"
    response = client.post(url, {"destroy-password": PASSWORD})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    response = client.post(
        url,
        {
            "destroy-destroyed_on": TODAY().isoformat(),
            "destroy-method": "焚烧",
            "destroy-witnesses": "张三、李四",
            "destroy-password": PASSWORD,
        },
    )
    assert response.status_code == 302
    goods.refresh_from_db()
    assert goods.status == GoodsReturn.Status.DESTROYED and goods.completed_by == users["qa_reviewer"]
    assert goods.destruction_witnesses == "张三、李四"
    assert [s.meaning for s in Signature.objects.for_record(goods).order_by("signed_at", "pk")] == [
        "approved",
        "destroyed",
    ]
    page = client.get(goods.get_absolute_url()).content.decode()
    assert "Destroyed" in page and "焚烧" in page and "张三、李四" in page


def test_wrong_state_refused(quarantined, users):
    """R-SEQ-1: no destruction before evaluation, no second evaluation."""
    with pytest.raises(WorkflowError, match="evaluates the returned goods first"):
        services.return_destroy(
            goods=quarantined,
            user=users["qa_reviewer"],
            password=PASSWORD,
            destroyed_on=TODAY(),
            method="焚烧",
            witnesses="甲",
        )
    services.return_evaluate(
        goods=quarantined, user=users["qa_reviewer"], password=PASSWORD, decision="destroy", evaluation="x"
    )
    with pytest.raises(WorkflowError, match="in quarantine"):
        services.return_evaluate(
            goods=quarantined, user=users["qa_reviewer"], password=PASSWORD, decision="destroy", evaluation="x"
        )


def test_wrong_password_refused_and_nothing_written(quarantined, users):
    with pytest.raises(WorkflowError):
        services.return_evaluate(
            goods=quarantined, user=users["qa_reviewer"], password="wrong", decision="restock", evaluation="x"
        )
    quarantined.refresh_from_db()
    assert quarantined.status == GoodsReturn.Status.QUARANTINE


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r != QA_REVIEWER])
def test_wrong_roles_cannot_evaluate(role, quarantined, make_user):
    user = make_user(role)
    with pytest.raises(WorkflowError, match="permission"):
        services.return_evaluate(goods=quarantined, user=user, password=PASSWORD, decision="destroy", evaluation="x")
    assert (
        english_client(user).post(reverse("aftersales:return_evaluate", args=[quarantined.pk]), {}).status_code == 403
    )


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in (CUSTOMER_SERVICE, CS_MANAGER)])
def test_wrong_roles_cannot_record_returns(role, shipped, make_user):
    user = make_user(role)
    with pytest.raises(WorkflowError, match="permission"):
        services.return_record(user=user, data=return_data(shipped))
    assert english_client(user).get(reverse("aftersales:return_create")).status_code == 403


def test_transitions_matrix_written_out():
    """R-SEQ-1: the whole table, independently of the model."""
    states = ["quarantine", "evaluated", "restocked", "destroyed"]
    expected = {("quarantine", "evaluated"), ("evaluated", "restocked"), ("evaluated", "destroyed")}
    actual = {(a, b) for a in states for b in states if b in GoodsReturn.TRANSITIONS.get(a, set())}
    assert actual == expected


def test_return_list_bounded_queries(shipped, users, django_assert_max_num_queries):
    for _n in range(5):
        services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=1))
    client = english_client(users["qa_reviewer"])
    client.get(reverse("aftersales:return_list"))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("aftersales:return_list")).status_code == 200


# --- replacement shipment (AS-4.2.5) -----------------------------------------------------------------


def _sales_chain_complaint(users, batch, responsibility):
    fb = services.feedback_record(
        user=users["customer_service"],
        data=feedback_data(batch=batch, classification="sales_chain", sales_chain_problem="transport_damage"),
    )
    complaint = services.complaint_triage(
        complaint=fb.complaint, user=users["qa_reviewer"], triage="sales_chain", assigned_to=users["qa_reviewer"]
    )
    return services.complaint_record(
        complaint=complaint, user=users["qa_reviewer"], data={"responsibility": responsibility}
    )


def test_replacement_shipment_through_the_same_service(released, qualified_customer, users):
    complaint = _sales_chain_complaint(users, released, "ours")
    s = services.shipment_create(
        user=users["sales"],
        data=ship_data(
            released, qualified_customer, purpose="replacement", complaint=complaint, unit_price=Decimal("0")
        ),
    )
    assert s.purpose == Shipment.Purpose.REPLACEMENT and list(complaint.replacements.all()) == [s]


def test_replacement_refused_when_not_ours(released, qualified_customer, users):
    complaint = _sales_chain_complaint(users, released, "carrier")
    with pytest.raises(InputError) as exc:
        services.shipment_create(
            user=users["sales"],
            data=ship_data(released, qualified_customer, purpose="replacement", complaint=complaint),
        )
    assert "does not call for a replacement" in str(exc.value)
    with pytest.raises(InputError, match="names the complaint"):
        services.shipment_create(
            user=users["sales"], data=ship_data(released, qualified_customer, purpose="replacement")
        )
    assert not Shipment.objects.exists()


def test_complaint_page_links_the_return_and_the_replacement(released, qualified_customer, users):
    """R-CMP-1 / AS-4.2.4–4.2.5: from a complaint's "return expected" and "replacement needed"."""
    complaint = _sales_chain_complaint(users, released, "ours")
    # Sales does not read complaints; its shipment form offers the ones that call for a replacement.
    form_page = english_client(users["sales"]).get(reverse("aftersales:shipment_create") + f"?complaint={complaint.pk}")
    assert form_page.context["form"].initial["purpose"] == "replacement"
    assert complaint in form_page.context["form"].fields["complaint"].queryset
    s = services.shipment_create(
        user=users["sales"],
        data=ship_data(
            released, qualified_customer, purpose="replacement", complaint=complaint, unit_price=Decimal("0")
        ),
    )
    page = english_client(users["qa_reviewer"]).get(complaint.get_absolute_url()).content.decode()
    assert s.number in page
    fb = services.feedback_record(
        user=users["customer_service"], data=feedback_data(batch=released, classification="return_request")
    )
    page = english_client(users["customer_service"]).get(fb.complaint.get_absolute_url()).content.decode()
    assert "record-return" in page


def test_my_work_lists_returns_waiting_for_qa(shipped, users):
    """R-RET-1, R-UX-3: QA's My work lists returned goods in quarantine awaiting its evaluation, and
    evaluated goods awaiting the signed destruction or restocking, with what is to be done."""
    waiting = services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=5))
    evaluated = services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=7))
    services.return_evaluate(
        goods=evaluated, user=users["qa_reviewer"], password=PASSWORD, decision="destroy", evaluation="包装破损"
    )
    response = english_client(users["qa_reviewer"]).get(reverse("core:my_work"))
    queues = {q.key: q for q in response.context["queues"]}
    assert [i.title for i in queues["returns_to_evaluate"].items] == [
        f"{waiting.number} · {shipped.batch.batch_number} · {shipped.customer.name}"
    ]
    assert queues["returns_to_evaluate"].items[0].note == "Customer return"
    assert [(i.url, i.note) for i in queues["returns_to_dispose"].items] == [
        (evaluated.get_absolute_url(), "Destroy under supervision")
    ]
    page = response.content.decode()
    assert "Returned goods in quarantine awaiting QA&#x27;s evaluation" in page
    assert "Returned goods to destroy or restock" in page
    # Customer service records returns but neither evaluates nor disposes of them.
    keys = {q.key for q in english_client(users["customer_service"]).get(reverse("core:my_work")).context["queues"]}
    assert not keys & {"returns_to_evaluate", "returns_to_dispose"}


def test_my_work_returns_queue_counts_beyond_what_it_shows(shipped, users, django_assert_max_num_queries):
    """R-PERF-1: the queue shows its first QUEUE_LENGTH and counts the rest; the page's queries do
    not grow with rows."""
    from core.work import QUEUE_LENGTH

    client = english_client(users["qa_reviewer"])
    services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=1))
    with django_assert_max_num_queries(30):
        client.get(reverse("core:my_work"))
    for _n in range(22):
        services.return_record(user=users["customer_service"], data=return_data(shipped, quantity=1))
    with django_assert_max_num_queries(30):
        response = client.get(reverse("core:my_work"))
    queue = next(q for q in response.context["queues"] if q.key == "returns_to_evaluate")
    assert (len(queue.items), queue.total) == (QUEUE_LENGTH, 23)
    assert "?status=quarantine" in queue.more_url
