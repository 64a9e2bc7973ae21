"""Recall workflow actions (R-RCL-1…6). Each one: permission → (passwords, outside the transaction)
→ lock → predicate → ``move`` → save with reason → signature(s) (core/workflow.py).

Holds go through release's published interface (``release.for_shipping``) and the consignee
trace through after-sales' (``aftersales.for_recalls``); imports point one way (DESIGN.md).

Signatures: one per record signed. Where a step also lifts holds, the signer's password is checked
once per hold before the transaction (``verify_signer``), so every lifted hold carries its own
"Hold lifted" signature beside the step's own.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.for_recalls import consignees, customer_types, recall_returns
from core.models import Signature, User
from core.numbering import formatted_number
from core.roles import QUALIFIED_PERSON, RECALL_COORDINATOR, SALES
from core.signatures import sign, verify_signer
from core.workflow import (
    InputError,
    WorkflowError,
    move,
    require_permission,
    require_reason,
    save_changed,
    save_step,
    signs,
)
from recalls.models import (
    DeadlineRule,
    InformationForm,
    InformationSource,
    MockRecall,
    ProgressEntry,
    Recall,
    RecallBatch,
    RecallClass,
    RecallConsignee,
    RecallInformation,
    RecoveredGoods,
    Scope,
)
from recalls.reconciliation import reconcile
from release.for_shipping import (
    cannot_reject_after_recall,
    count_active_holds_of,
    hold_place,
    product_hold_place,
    recalled_batches_reject,
    source_holds_lift,
)
from release.models import Batch, Product

MAX_TEXT = 10_000


def _text(data: dict, name: str, problems: dict, message: str, *, required: bool = True) -> str:
    value = (data.get(name) or "").strip() if isinstance(data.get(name) or "", str) else ""
    if required and not value:
        problems[name] = [message]
    elif len(value) > MAX_TEXT:
        problems[name] = [_("This text is too long (at most %(n)s characters).") % {"n": MAX_TEXT}]
    return value


def _moment(value, name: str, problems: dict, *, required_message: str, not_before=None) -> datetime | None:
    if not isinstance(value, datetime):
        problems[name] = [required_message]
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > timezone.now():
        problems[name] = [_("This time is in the future.")]
    # People enter times to the minute: an entry made in the minute the step began is not "before" it.
    elif not_before is not None and value < not_before.replace(second=0, microsecond=0):
        problems[name] = [
            _("This cannot be before %(when)s.") % {"when": timezone.localtime(not_before).strftime("%Y-%m-%d %H:%M")}
        ]
    return value


def _has_role(user: User, role: str) -> bool:
    return user.groups.filter(name=role).exists()


def _credentials(user: User, password: str, count: int, request: HttpRequest | None) -> list:
    """One credential per signature the step writes (the password is checked for each)."""
    return [verify_signer(user=user, password=password, request=request) for _i in range(count)]


# --- recall information --------------------------------------------------------------------------


def information_problems(data: dict[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if data.get("source") not in InformationSource.values:
        problems["source"] = [_("Choose where the information came from.")]
    if data.get("form") not in InformationForm.values:
        problems["form"] = [_("Choose the form the information arrived in.")]
    _moment(data.get("received_at"), "received_at", problems, required_message=_("Enter when it was received."))
    product = data.get("product")
    if not isinstance(product, Product):
        problems["product"] = [_("Choose the product concerned.")]
    elif product.status == Product.Status.VOIDED:
        problems["product"] = [_("This product is voided.")]
    _text(data, "description", problems, _("Describe the information received."))
    if len((data.get("batch_numbers") or "").strip()) > 500:
        problems["batch_numbers"] = [_("Too many batch numbers (at most 500 characters).")]
    return problems


def information_record(*, user: User, data: dict[str, Any], source_record=None) -> RecallInformation:
    """Record recall information (R-RCL-1) and lock the whole product in the same transaction
    (追回操作规程 3.1, R-RCL-2): until the quality head decides, no batch of it can ship.

    Writes the record (``RCI-YYYY-NNNN``), its first history row and an active product hold naming
    it. ``source_record`` is the complaint, ADR case, OOS or deviation it was raised from.
    """
    require_permission(user, "recalls.add_recallinformation")
    if problems := information_problems(data):
        raise InputError(problems)
    with transaction.atomic():
        info = RecallInformation(
            source=data["source"],
            form=data["form"],
            received_at=data["received_at"],
            product=data["product"],
            batch_numbers=(data.get("batch_numbers") or "").strip(),
            description=data["description"].strip(),
            recorded_by=user,
            last_changed_by=user,
        )
        if source_record is not None:
            from django.contrib.contenttypes.models import ContentType

            info.source_type = ContentType.objects.get_for_model(source_record, for_concrete_model=True)
            info.source_id = source_record.pk
            info.source_label = str(source_record)[:200]
        info.number = formatted_number("RCI", timezone.localdate().year, width=4)
        info.save_audited(user=user, reason="created")
        product_hold_place(
            product=info.product,
            user=user,
            reason=_("Recall information %(number)s received: the product is locked until it is decided.")
            % {"number": info.number},
            source=info,
        )
    return info


def cannot_analyse_information(info: RecallInformation, user: User) -> str | None:
    if not user.has_perm("recalls.analyse_recallinformation"):
        return _("You do not have permission to do this.")
    if info.status != RecallInformation.Status.RECEIVED:
        return _("%(number)s has already been analysed.") % {"number": info.number}
    return None


@signs(Signature.Meaning.REVIEWED)
def information_analyse(
    *,
    information: RecallInformation,
    user: User,
    password: str,
    scope: str,
    analysis: str,
    proposal: str,
    request: HttpRequest | None = None,
) -> RecallInformation:
    """QA's analysis (local or general, 追回操作规程 3.3–3.5) and proposal to the quality head
    (3.2), signed "Reviewed". The product stays locked."""
    require_permission(user, "recalls.analyse_recallinformation")
    problems: dict[str, list[str]] = {}
    if scope not in Scope.values:
        problems["scope"] = [_("Say whether the problem is local or general.")]
    data = {"analysis": analysis, "proposal": proposal}
    analysis = _text(data, "analysis", problems, _("Write the analysis."))
    proposal = _text(data, "proposal", problems, _("Write QA's proposal to the quality head."))
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        info = RecallInformation.objects.select_for_update().get(pk=information.pk)
        if refusal := cannot_analyse_information(info, user):
            raise WorkflowError(refusal)
        move(info, RecallInformation.Status.ANALYSED)
        info.scope, info.analysis, info.proposal = scope, analysis, proposal
        info.proposed_by, info.proposed_at = user, timezone.now()
        save_step(info, user, "analysed")
        sign(credential=credential, record=info, meaning=information_analyse.meaning, comment=proposal[:500])
    return info


def cannot_narrow_lock(info: RecallInformation, user: User) -> str | None:
    if not user.has_perm("recalls.analyse_recallinformation"):
        return _("You do not have permission to do this.")
    if info.status not in (RecallInformation.Status.RECEIVED, RecallInformation.Status.ANALYSED):
        return _("%(number)s is decided; its holds follow the decision.") % {"number": info.number}
    if count_active_holds_of(info, batches=False) == 0:
        return _("The product lock of %(number)s is no longer active.") % {"number": info.number}
    return None


def _batches_of_product(batches, product: Product, field: str) -> list[Batch]:
    batches = list(batches or [])
    if not batches:
        raise InputError({field: [_("Choose at least one batch.")]})
    wrong = [b.batch_number for b in batches if b.product_id != product.pk]
    if wrong:
        raise InputError({field: [_("Not batches of this product: %(numbers)s.") % {"numbers": ", ".join(wrong)}]})
    voided = [b.batch_number for b in batches if b.status == Batch.Status.VOIDED]
    if voided:
        raise InputError({field: [_("Voided batches cannot be chosen: %(numbers)s.") % {"numbers": ", ".join(voided)}]})
    return batches


@signs(Signature.Meaning.LIFTED)  # the product lock is lifted with this meaning (source_holds_lift)
def information_narrow(
    *,
    information: RecallInformation,
    user: User,
    password: str,
    batches,
    reason: str,
    request: HttpRequest | None = None,
) -> RecallInformation:
    """Narrow the product lock to batches after analysis (R-RCL-2): the chosen batches are held
    and the product lock is lifted with QA's signature, in one transaction. Without the password
    nothing changes."""
    require_permission(user, "recalls.analyse_recallinformation")
    batches = _batches_of_product(batches, information.product, "batches")
    reason = require_reason(reason, _("Give the reason for narrowing the lock to these batches."))
    if not password:
        raise InputError({"password": [_("Narrowing the product lock needs your signature: enter your password.")]})
    count = count_active_holds_of(information, batches=False)
    credentials = _credentials(user, password, count, request)
    with transaction.atomic():
        info = RecallInformation.objects.select_for_update().get(pk=information.pk)
        if refusal := cannot_narrow_lock(info, user):
            raise WorkflowError(refusal)
        for batch in batches:
            hold_place(
                batch=batch,
                user=user,
                reason=_("Recall information %(number)s: the product lock was narrowed to this batch.")
                % {"number": info.number},
                source=info,
            )
        source_holds_lift(
            source=info,
            user=user,
            credentials=credentials,
            reason=reason,
            permission="recalls.analyse_recallinformation",
            batches=False,
        )
    return info


def cannot_decide_information(info: RecallInformation, user: User) -> str | None:
    if not user.has_perm("recalls.decide_recallinformation"):
        return _("You do not have permission to do this.")
    if info.status == RecallInformation.Status.RECEIVED:
        return _("QA has not yet analysed %(number)s and proposed.") % {"number": info.number}
    if info.status != RecallInformation.Status.ANALYSED:
        return _("%(number)s is already decided.") % {"number": info.number}
    if info.proposed_by_id == user.pk:
        return _("The person who proposed cannot also decide (追回操作规程 3.2).")
    return None


@signs(Signature.Meaning.APPROVED)
def information_decide_no_recall(
    *, information: RecallInformation, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> RecallInformation:
    """The quality head decides no recall is needed: the decision is signed "Approved" and every
    hold the information placed is lifted, each with its own "Hold lifted" signature."""
    require_permission(user, "recalls.decide_recallinformation")
    reason = require_reason(reason, _("Give the reason why no recall is needed."))
    count = count_active_holds_of(information)
    credentials = _credentials(user, password, count + 1, request)
    with transaction.atomic():
        info = RecallInformation.objects.select_for_update().get(pk=information.pk)
        if refusal := cannot_decide_information(info, user):
            raise WorkflowError(refusal)
        move(info, RecallInformation.Status.NO_RECALL)
        info.decided_by, info.decided_at, info.decision_reason = user, timezone.now(), reason
        save_step(info, user, reason)
        source_holds_lift(
            source=info,
            user=user,
            credentials=credentials[1:],
            reason=reason,
            permission="recalls.decide_recallinformation",
        )
        sign(credential=credentials[0], record=info, meaning=information_decide_no_recall.meaning, comment=reason)
    return info


# --- the recall -------------------------------------------------------------------------------


def recall_problems(data: dict[str, Any], product: Product) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if data.get("kind") not in Recall.Kind.values:
        problems["kind"] = [_("Choose voluntary or ordered recall.")]
    elif data.get("kind") == Recall.Kind.ORDERED and not (data.get("order_reference") or "").strip():
        problems["order_reference"] = [_("An ordered recall names the regulator's order.")]
    if data.get("recall_class") not in RecallClass.values:
        problems["recall_class"] = [_("Choose the recall class (I, II or III).")]
    _text(data, "reason", problems, _("Give the reason for the recall."))
    _text(data, "hazard_evaluation", problems, _("Write the health-hazard evaluation."))
    if data.get("depth") not in Recall.Depth.values:
        problems["depth"] = [_("Choose the depth of the recall.")]
    coordinator = data.get("coordinator")
    if not isinstance(coordinator, User):
        problems["coordinator"] = [_("Choose the recall coordinator.")]
    elif _has_role(coordinator, SALES):
        problems["coordinator"] = [_("The recall coordinator must be independent of sales (GMP 第二百九十八条).")]
    elif not _has_role(coordinator, RECALL_COORDINATOR):
        problems["coordinator"] = [_("%(person)s is not a recall coordinator.") % {"person": coordinator.printed_name}]
    qp = data.get("qualified_person")
    if not isinstance(qp, User) or not _has_role(qp, QUALIFIED_PERSON):
        problems["qualified_person"] = [_("Choose the qualified person to inform.")]
    quantity = data.get("plan_quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        problems["plan_quantity"] = [_("Enter the quantity to recover as a whole number greater than zero.")]
    for name, message in (
        ("plan_measures", _("Describe the measures.")),
        ("plan_publication", _("Say how and where the recall is published.")),
        ("plan_expected_effect", _("Describe the expected effect.")),
        ("plan_handling", _("Say how recovered goods are handled.")),
        ("plan_contact", _("Name the contact person.")),
    ):
        _text(data, name, problems, message)
    try:
        target = Decimal(str(data.get("plan_target_percent")))
        if not target.is_finite() or target <= 0 or target > 100:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems["plan_target_percent"] = [_("Enter the target effectiveness as a percentage above 0 and at most 100.")]
    completion = data.get("plan_completion_date")
    if not isinstance(completion, date):
        problems["plan_completion_date"] = [_("Enter the date recovery is to be complete by.")]
    elif completion < timezone.localdate():
        problems["plan_completion_date"] = [_("This date is in the past.")]
    return problems


def cannot_propose_recall(info: RecallInformation, user: User) -> str | None:
    if not user.has_perm("recalls.propose_recall"):
        return _("You do not have permission to do this.")
    if info.status == RecallInformation.Status.RECEIVED:
        return _("Analyse %(number)s first (local or general) and propose.") % {"number": info.number}
    if info.status != RecallInformation.Status.ANALYSED:
        return _("%(number)s is already decided.") % {"number": info.number}
    if Recall.objects.filter(information=info).exists():
        return _("A recall is already proposed for %(number)s.") % {"number": info.number}
    return None


@signs(Signature.Meaning.AUTHORED)
def recall_propose(
    *,
    information: RecallInformation,
    user: User,
    password: str,
    data: dict[str, Any],
    batches,
    request: HttpRequest | None = None,
) -> Recall:
    """QA prepares the recall for the quality head (R-RCL-1): class, reason, health-hazard
    evaluation, affected batches, depth, coordinator, the QP informed and the plan; signed
    "Prepared". Nothing is held yet beyond the product lock."""
    require_permission(user, "recalls.propose_recall")
    problems = recall_problems(data, information.product)
    try:
        batches = _batches_of_product(batches, information.product, "batches")
    except InputError as exc:
        problems.update(exc.errors)
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        info = RecallInformation.objects.select_for_update().get(pk=information.pk)
        if refusal := cannot_propose_recall(info, user):
            raise WorkflowError(refusal)
        recall = Recall(
            information=info,
            product=info.product,
            kind=data["kind"],
            order_reference=(data.get("order_reference") or "").strip(),
            recall_class=data["recall_class"],
            reason=data["reason"].strip(),
            hazard_evaluation=data["hazard_evaluation"].strip(),
            depth=data["depth"],
            coordinator=data["coordinator"],
            qualified_person=data["qualified_person"],
            plan_quantity=data["plan_quantity"],
            plan_measures=data["plan_measures"].strip(),
            plan_publication=data["plan_publication"].strip(),
            plan_expected_effect=data["plan_expected_effect"].strip(),
            plan_target_percent=Decimal(str(data["plan_target_percent"])),
            plan_completion_date=data["plan_completion_date"],
            plan_handling=data["plan_handling"].strip(),
            plan_contact=data["plan_contact"].strip(),
            proposed_by=user,
            proposed_at=timezone.now(),
            last_changed_by=user,
        )
        recall.number = formatted_number("RCL", timezone.localdate().year, width=4)
        recall.save_audited(user=user, reason="proposed")
        for batch in batches:
            RecallBatch(recall=recall, batch=batch, added_by=user, added_reason="proposed").save_audited(
                user=user, reason="proposed"
            )
        sign(credential=credential, record=recall, meaning=recall_propose.meaning, comment=recall.reason[:500])
    return recall


def cannot_revise_plan(recall: Recall, user: User) -> str | None:
    if not user.has_perm("recalls.propose_recall"):
        return _("You do not have permission to do this.")
    if recall.status != Recall.Status.PROPOSED:
        return _("The plan of %(number)s can be changed only before the quality head decides.") % {
            "number": recall.number
        }
    return None


@signs(Signature.Meaning.AUTHORED)
def recall_plan_revise(
    *,
    recall: Recall,
    user: User,
    password: str,
    data: dict[str, Any],
    reason: str,
    request: HttpRequest | None = None,
) -> Recall:
    """QA changes the recall plan after proposing it and before the quality head decides: the
    reason is recorded with the change (audit trail) and the plan is signed "Prepared" again, so
    the quality head decides on the plan as it now is (the first signature keeps the plan it saw)."""
    require_permission(user, "recalls.propose_recall")
    reason = require_reason(reason, _("Give the reason for changing the plan."))
    current = {name: getattr(recall, name) for name in ("kind", "order_reference", "recall_class", "reason")}
    current.update(
        hazard_evaluation=recall.hazard_evaluation,
        depth=recall.depth,
        coordinator=recall.coordinator,
        qualified_person=recall.qualified_person,
    )
    problems = {
        k: v for k, v in recall_problems({**current, **data}, recall.product).items() if k in Recall.PLAN_FIELDS
    }
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        if refusal := cannot_revise_plan(recall, user):
            raise WorkflowError(refusal)
        for name in Recall.PLAN_FIELDS:
            value = data[name]
            if name == "plan_target_percent":
                value = Decimal(str(value))
            elif isinstance(value, str):
                value = value.strip()
            setattr(recall, name, value)
        save_changed(recall, user, reason)
        sign(credential=credential, record=recall, meaning=recall_plan_revise.meaning, comment=reason[:500])
    return recall


def cannot_start_recall(recall: Recall, user: User) -> str | None:
    if not user.has_perm("recalls.start_recall"):
        return _("You do not have permission to do this.")
    if recall.status != Recall.Status.PROPOSED:
        return _("%(number)s has already been started.") % {"number": recall.number}
    if recall.proposed_by_id == user.pk:
        return _("The person who proposed the recall cannot also start it (追回操作规程 3.2).")
    return None


def _start_day(recall: Recall) -> date | None:
    return timezone.localdate(recall.started_at) if recall.started_at else None


def consignee_returns_sync(*, customer_id: int, batch_id: int, user: User, number: str) -> list[RecallConsignee]:
    """An after-sales return of a recalled batch was just recorded (``aftersales.for_recalls``
    calls this in the return's transaction): the consignee row of every recall in progress on that
    batch takes the returned quantity from the returns (R-RCL-5). What came back from the goods
    the consignee said it held leaves "held"; nothing is ever counted twice (the larger of the
    recorded and the returned figure), and the row never exceeds what was shipped. A recall
    closed by QA is left alone: its closure vouches for its totals. Returns the rows changed."""
    changed = []
    rows = (
        RecallConsignee.objects.select_for_update()
        .select_related("recall")
        .filter(customer_id=customer_id, batch_id=batch_id, recall__status=Recall.Status.IN_PROGRESS)
        .order_by("pk")
    )
    for row in rows:
        returned = recall_returns([batch_id], since=_start_day(row.recall)).get((customer_id, batch_id), 0)
        if returned <= row.quantity_returned:
            continue
        room = row.quantity_shipped - row.quantity_used - row.quantity_destroyed
        row.quantity_returned = min(returned, room)
        row.quantity_held = max(0, min(row.quantity_held, room - row.quantity_returned))
        row.last_changed_by, row.updated_at = user, timezone.now()
        row.save_audited(user=user, reason=f"after-sales return {number} recorded")
        changed.append(row)
    return changed


def _sync_consignees(recall: Recall, batch_ids: list[int], user: User) -> int:
    """Write the consignee rows of these batches from the distribution records (R-RCL-3); returns
    the number written. Returned quantities start from the after-sales returns on the recall channel."""
    existing = set(recall.consignees.filter(batch_id__in=batch_ids).values_list("customer_id", "batch_id"))
    rows = [r for r in consignees(batch_ids) if (r["customer_id"], r["batch_id"]) not in existing]
    kinds = customer_types({r["customer_id"] for r in rows})
    returned = recall_returns(batch_ids, since=_start_day(recall))
    for r in rows:
        shipped = r["quantity"] or 0
        row = RecallConsignee(
            recall=recall,
            customer_id=r["customer_id"],
            batch_id=r["batch_id"],
            consignee_name=r["customer"] or "",
            address=(r["address"] or "")[:300],
            contact=(r["contact"] or "")[:200],
            is_distributor=kinds.get(r["customer_id"]) == "distributor",
            quantity_shipped=shipped,
            shipments=r["shipments"],
            first_dispatch=r["first_dispatch"],
            last_dispatch=r["last_dispatch"],
            quantity_returned=min(shipped, returned.get((r["customer_id"], r["batch_id"]), 0)),
            last_changed_by=user,
        )
        row.save_audited(user=user, reason="traced")
    return len(rows)


@signs(Signature.Meaning.APPROVED)
def recall_start(
    *, recall: Recall, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> Recall:
    """The quality head starts the recall (RCL-3.2): signed "Approved"; every affected batch is
    held (source = the recall); the product lock of the information narrows to those batches — it
    is lifted with the quality head's "Hold lifted" signature in the same transaction; the
    consignee list is written from the distribution records; deadlines run from now."""
    require_permission(user, "recalls.start_recall")
    reason = require_reason(reason, _("Give the reason for starting the recall."))
    count = count_active_holds_of(recall.information)
    credentials = _credentials(user, password, count + 1, request)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        info = RecallInformation.objects.select_for_update().get(pk=recall.information_id)
        if refusal := cannot_start_recall(recall, user):
            raise WorkflowError(refusal)
        if refusal := cannot_decide_information(info, user):
            raise WorkflowError(refusal)
        batches = list(Batch.objects.filter(pk__in=recall.batches.values("batch_id")).order_by("batch_number"))
        if not batches:
            raise WorkflowError(_("A recall needs at least one batch."))
        move(recall, Recall.Status.IN_PROGRESS)
        recall.started_by, recall.started_at = user, timezone.now()
        recall.deadline_version = DeadlineRule.objects.aggregate(v=Max("version"))["v"]
        save_step(recall, user, reason)
        move(info, RecallInformation.Status.RECALL)
        info.decided_by, info.decided_at, info.decision_reason = user, recall.started_at, reason
        save_step(info, user, reason)
        for batch in batches:
            hold_place(
                batch=batch,
                user=user,
                reason=_("Recall %(number)s (class %(cls)s)") % {"number": recall.number, "cls": recall.recall_class},
                source=recall,
                permission="recalls.start_recall",
            )
        source_holds_lift(
            source=info,
            user=user,
            credentials=credentials[1:],
            reason=_("Narrowed to the recalled batches by recall %(number)s: %(reason)s")
            % {"number": recall.number, "reason": reason},
            permission="recalls.start_recall",
        )
        _sync_consignees(recall, [b.pk for b in batches], user)
        sign(credential=credentials[0], record=recall, meaning=recall_start.meaning, comment=reason)
    return recall


def cannot_add_batch(recall: Recall, user: User) -> str | None:
    if not user.has_perm("recalls.add_recallbatch"):
        return _("You do not have permission to do this.")
    if recall.status != Recall.Status.IN_PROGRESS:
        return _("Batches are added only to a recall in progress.")
    return None


@signs(Signature.Meaning.APPROVED)
def recall_add_batch(
    *,
    recall: Recall,
    batch: Batch | None,
    user: User,
    password: str,
    reason: str,
    request: HttpRequest | None = None,
) -> RecallBatch:
    """Add a batch to a recall in progress: held at once (source = the recall), its consignees
    traced. Records the batch row, the hold and the consignee rows with their history, and the
    adder's "Approved" signature on the recall: it vouches for the new set of batches, so the
    start signature (which vouched for the earlier set) stays authentic and the change is signed."""
    require_permission(user, "recalls.add_recallbatch")
    if batch is None:
        raise InputError({"batch": [_("Choose the batch to add.")]})
    reason = require_reason(reason, _("Give the reason for adding this batch."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        if refusal := cannot_add_batch(recall, user):
            raise WorkflowError(refusal)
        (batch,) = _batches_of_product([batch], recall.product, "batch")
        if recall.batches.filter(batch=batch).exists():
            raise InputError(
                {"batch": [_("Batch %(number)s is already in this recall.") % {"number": batch.batch_number}]}
            )
        row = RecallBatch(recall=recall, batch=batch, added_by=user, added_reason=reason)
        row.save_audited(user=user, reason=reason)
        hold_place(
            batch=batch,
            user=user,
            reason=_("Recall %(number)s (class %(cls)s)") % {"number": recall.number, "cls": recall.recall_class},
            source=recall,
            permission="recalls.add_recallbatch",
        )
        _sync_consignees(recall, [batch.pk], user)
        sign(
            credential=credential,
            record=recall,
            meaning=recall_add_batch.meaning,
            comment=_("Batch %(number)s added: %(reason)s") % {"number": batch.batch_number, "reason": reason},
        )
    return row


# --- per consignee (R-RCL-5) -------------------------------------------------------------------


def cannot_trace(recall: Recall, user: User) -> str | None:
    if not user.has_perm("recalls.trace_recall"):
        return _("You do not have permission to do this.")
    if recall.status != Recall.Status.IN_PROGRESS:
        return _("%(number)s is not in progress.") % {"number": recall.number}
    return None


def _locked_consignee(consignee: RecallConsignee, user: User) -> RecallConsignee:
    row = RecallConsignee.objects.select_for_update().select_related("recall").get(pk=consignee.pk)
    if refusal := cannot_trace(row.recall, user):
        raise WorkflowError(refusal)
    return row


def consignee_notify(*, consignee: RecallConsignee, user: User, method: str, notified_at) -> RecallConsignee:
    """Record that the consignee was sent the recall notice (when, how, by whom)."""
    require_permission(user, "recalls.trace_recall")
    problems: dict[str, list[str]] = {}
    if method not in RecallConsignee.Method.values:
        problems["method"] = [_("Choose how the consignee was notified.")]
    notified_at = _moment(
        notified_at,
        "notified_at",
        problems,
        required_message=_("Enter when the consignee was notified."),
        not_before=consignee.recall.started_at,
    )
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        row = _locked_consignee(consignee, user)
        if row.notified_at:
            raise WorkflowError(_("%(name)s was already notified.") % {"name": row.consignee_name})
        row.notified_at, row.notified_by, row.notice_method = notified_at, user, method
        save_step(row, user, "notified")
    return row


def consignee_acknowledge(
    *, consignee: RecallConsignee, user: User, acknowledged_at, acknowledged_by_name: str
) -> RecallConsignee:
    """Record the consignee's acknowledgement (when, by whom there)."""
    require_permission(user, "recalls.trace_recall")
    problems: dict[str, list[str]] = {}
    if not consignee.notified_at:
        raise WorkflowError(_("Record the notice first."))
    acknowledged_at = _moment(
        acknowledged_at,
        "acknowledged_at",
        problems,
        required_message=_("Enter when the consignee acknowledged."),
        not_before=consignee.notified_at,
    )
    name = _text({"n": acknowledged_by_name}, "n", problems, _("Name who acknowledged."))
    if "n" in problems:
        problems["acknowledged_by_name"] = problems.pop("n")
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        row = _locked_consignee(consignee, user)
        if row.acknowledged_at:
            raise WorkflowError(_("%(name)s has already acknowledged.") % {"name": row.consignee_name})
        row.acknowledged_at, row.acknowledged_by_name = acknowledged_at, name[:100]
        save_step(row, user, "acknowledged")
    return row


def consignee_pass_on(*, consignee: RecallConsignee, user: User, passed_on_at) -> RecallConsignee:
    """A distributor confirms it passed the notice on to its own customers."""
    require_permission(user, "recalls.trace_recall")
    if not consignee.is_distributor:
        raise WorkflowError(_("Only a distributor passes the notice on."))
    if not consignee.notified_at:
        raise WorkflowError(_("Record the notice first."))
    problems: dict[str, list[str]] = {}
    passed_on_at = _moment(
        passed_on_at,
        "passed_on_at",
        problems,
        required_message=_("Enter when the pass-on was confirmed."),
        not_before=consignee.notified_at,
    )
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        row = _locked_consignee(consignee, user)
        if row.passed_on_at:
            raise WorkflowError(_("The pass-on is already confirmed."))
        row.passed_on_at = passed_on_at
        save_step(row, user, "passed on")
    return row


def consignee_quantities(
    *, consignee: RecallConsignee, user: User, data: dict[str, Any], reason: str
) -> RecallConsignee:
    """Record what became of the goods at the consignee: held, returned, used or dispensed,
    destroyed on site. Together never more than shipped; each change carries a reason."""
    require_permission(user, "recalls.trace_recall")
    problems: dict[str, list[str]] = {}
    values = {}
    for name in RecallConsignee.QUANTITY_FIELDS:
        value = data.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems[name] = [_("Enter a whole number of zero or more.")]
        else:
            values[name] = value
    if problems:
        raise InputError(problems)
    reason = require_reason(reason)
    with transaction.atomic():
        row = _locked_consignee(consignee, user)
        total = sum(values.values())
        if total > row.quantity_shipped:
            raise InputError(
                {
                    "": [
                        _(
                            "Held, returned, used and destroyed add up to %(total)s, more than the %(shipped)s shipped to %(name)s of this batch."
                        )
                        % {"total": total, "shipped": row.quantity_shipped, "name": row.consignee_name}
                    ]
                }
            )
        changed = [n for n, v in values.items() if getattr(row, n) != v]
        if not changed:
            return row
        for name, value in values.items():
            setattr(row, name, value)
        row.last_changed_by, row.updated_at = user, timezone.now()
        row.save_audited(user=user, reason=reason)
    return row


# --- recovered goods --------------------------------------------------------------------------


@signs(Signature.Meaning.APPROVED)
def recovered_goods_decide(
    *, recall: Recall, user: User, password: str, data: dict[str, Any], request: HttpRequest | None = None
) -> RecoveredGoods:
    """QA's decision on recovered goods in quarantine (R-RCL-5): destruction under a recorded
    supervisor (regulator or notary), or rework only where it removes the hazard and never with a
    longer expiry. Signed "Approved"."""
    require_permission(user, "recalls.add_recoveredgoods")
    problems: dict[str, list[str]] = {}
    batch = data.get("batch")
    if not isinstance(batch, Batch) or not recall.batches.filter(batch=batch).exists():
        problems["batch"] = [_("Choose a batch of this recall.")]
    quantity = data.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        problems["quantity"] = [_("Enter the quantity as a whole number greater than zero.")]
    location = _text(data, "quarantine_location", problems, _("Say where the goods are quarantined."))
    decision = data.get("decision")
    supervisor_name = (data.get("supervisor_name") or "").strip()
    hazard = (data.get("hazard_removed_by") or "").strip()
    new_expiry = data.get("new_expiry")
    if decision == RecoveredGoods.Decision.DESTROY:
        if data.get("supervisor_kind") not in RecoveredGoods.Supervisor.values:
            problems["supervisor_kind"] = [_("Destruction is supervised by the regulator or a notary: choose which.")]
        if not supervisor_name:
            problems["supervisor_name"] = [_("Name the supervising authority or notary.")]
    elif decision == RecoveredGoods.Decision.REWORK:
        if not hazard:
            problems["hazard_removed_by"] = [_("Rework is allowed only where it removes the hazard: say how it does.")]
        if isinstance(batch, Batch):
            if not isinstance(new_expiry, date):
                problems["new_expiry"] = [_("Enter the expiry date after rework.")]
            elif new_expiry > batch.expiry_date:
                problems["new_expiry"] = [
                    _("Rework never extends the expiry: the batch expires on %(date)s.")
                    % {"date": batch.expiry_date.isoformat()}
                ]
    else:
        problems["decision"] = [_("Choose destroy or rework.")]
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        if recall.status not in (Recall.Status.IN_PROGRESS, Recall.Status.CLOSING):
            raise WorkflowError(_("%(number)s is not in progress.") % {"number": recall.number})
        returned = sum(recall.consignees.filter(batch=batch).values_list("quantity_returned", flat=True))
        decided = sum(recall.recovered.filter(batch=batch).values_list("quantity", flat=True))
        if quantity > returned - decided:
            raise InputError(
                {
                    "quantity": [
                        _("Only %(n)s of batch %(number)s returned are still awaiting a decision.")
                        % {"n": max(returned - decided, 0), "number": batch.batch_number}
                    ]
                }
            )
        goods = RecoveredGoods(
            recall=recall,
            batch=batch,
            quantity=quantity,
            quarantine_location=location,
            decision=decision,
            supervisor_kind=(data.get("supervisor_kind") or "") if decision == RecoveredGoods.Decision.DESTROY else "",
            supervisor_name=supervisor_name if decision == RecoveredGoods.Decision.DESTROY else "",
            hazard_removed_by=hazard if decision == RecoveredGoods.Decision.REWORK else "",
            original_expiry=batch.expiry_date,
            new_expiry=new_expiry if decision == RecoveredGoods.Decision.REWORK else None,
            decided_by=user,
            decided_at=timezone.now(),
            last_changed_by=user,
        )
        goods.save_audited(user=user, reason="decided")
        sign(credential=credential, record=goods, meaning=recovered_goods_decide.meaning)
    return goods


# --- progress, closure ------------------------------------------------------------------------


def progress_add(*, recall: Recall, user: User, kind: str, occurred_at, text: str) -> ProgressEntry:
    """A progress entry (a report to the regulator, the filing, a note) on a recall not yet closed."""
    require_permission(user, "recalls.add_progressentry")
    problems: dict[str, list[str]] = {}
    if kind not in ProgressEntry.Kind.values:
        problems["kind"] = [_("Choose what kind of entry this is.")]
    occurred_at = _moment(
        occurred_at,
        "occurred_at",
        problems,
        required_message=_("Enter when it happened."),
        not_before=recall.started_at,
    )
    text = _text({"text": text}, "text", problems, _("Write the entry."))
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        if recall.status not in (Recall.Status.IN_PROGRESS, Recall.Status.CLOSING):
            raise WorkflowError(_("%(number)s is not in progress.") % {"number": recall.number})
        entry = ProgressEntry(recall=recall, kind=kind, occurred_at=occurred_at, text=text, recorded_by=user)
        entry.save_audited(user=user, reason="recorded")
    return entry


def cannot_close_recall(recall: Recall, user: User) -> str | None:
    if not user.has_perm("recalls.close_recall"):
        return _("You do not have permission to do this.")
    if recall.status != Recall.Status.IN_PROGRESS:
        return _("%(number)s is not in progress.") % {"number": recall.number}
    missing = recall.consignees.filter(notified_at__isnull=True).count()
    if missing:
        return _("%(n)s consignee(s) have not been notified yet.") % {"n": missing}
    return None


@signs(Signature.Meaning.CLOSED)
def recall_close(
    *,
    recall: Recall,
    user: User,
    password: str,
    effectiveness_evaluation: str,
    outstanding_justification: str,
    hold_disposition: str,
    request: HttpRequest | None = None,
) -> Recall:
    """QA closes the recall (R-RCL-5): the effectiveness evaluation is required; an outstanding
    quantity needs a justification; the holds are to be lifted or the batches kept as rejected
    goods. Signed "Closed"; the QP then approves the final report."""
    require_permission(user, "recalls.close_recall")
    problems: dict[str, list[str]] = {}
    data = {"e": effectiveness_evaluation, "j": outstanding_justification}
    evaluation = _text(data, "e", problems, _("Write the effectiveness evaluation: closing requires it."))
    justification = _text(data, "j", problems, "", required=False)
    if "e" in problems:
        problems["effectiveness_evaluation"] = problems.pop("e")
    if hold_disposition not in Recall.HoldDisposition.values:
        problems["hold_disposition"] = [_("Choose whether the holds are lifted or the batches stay held as rejected.")]
    totals = reconcile(recall.consignees.select_related("batch"))
    if totals.outstanding > 0 and not justification:
        problems["outstanding_justification"] = [
            _("%(n)s units are still outstanding: justify closing with them outstanding.") % {"n": totals.outstanding}
        ]
    if problems:
        raise InputError(problems)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        if refusal := cannot_close_recall(recall, user):
            raise WorkflowError(refusal)
        if reconcile(recall.consignees.select_related("batch")).outstanding > 0 and not justification:
            raise WorkflowError(_("The outstanding quantity changed; justify it."))
        move(recall, Recall.Status.CLOSING)
        recall.effectiveness_evaluation = evaluation
        recall.outstanding_justification = justification
        recall.hold_disposition = hold_disposition
        recall.closed_by, recall.closed_at = user, timezone.now()
        save_step(recall, user, "closed by QA")
        sign(credential=credential, record=recall, meaning=recall_close.meaning, comment=evaluation[:500])
    return recall


def cannot_approve_recall(recall: Recall, user: User) -> str | None:
    if not user.has_perm("recalls.approve_recall"):
        return _("You do not have permission to do this.")
    if recall.status != Recall.Status.CLOSING:
        return _("QA has not closed %(number)s yet.") % {"number": recall.number}
    if recall.closed_by_id == user.pk:
        return _("The person who closed the recall cannot also approve its final report.")
    return None


@signs(Signature.Meaning.APPROVED)
def recall_approve(
    *, recall: Recall, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> Recall:
    """The QP approves the final report and the recall is closed: signed "Approved"; when QA chose
    to lift the holds, each of the recall's holds is lifted with the QP's "Hold lifted"
    signature; when QA chose to keep them, each recalled batch still released is rejected
    (release's ``recalled_batches_reject``: the batch → "Rejected", a ``BatchRejection`` naming
    the recall, signed "Rejected" by the QP) and the holds stay active as the record of why. The
    final report PDF is issued after commit."""
    require_permission(user, "recalls.approve_recall")
    reason = require_reason(reason)
    lift = recall.hold_disposition == Recall.HoldDisposition.LIFT
    if lift:
        count = count_active_holds_of(recall, products=False)
    else:
        count = len(batches_to_reject(recall))
    credentials = _credentials(user, password, count + 1, request)
    with transaction.atomic():
        recall = Recall.objects.select_for_update().get(pk=recall.pk)
        if refusal := cannot_approve_recall(recall, user):
            raise WorkflowError(refusal)
        move(recall, Recall.Status.CLOSED)
        recall.approved_by, recall.approved_at = user, timezone.now()
        save_step(recall, user, reason)
        if lift:
            source_holds_lift(
                source=recall,
                user=user,
                credentials=credentials[1:],
                reason=_("Recall %(number)s closed: %(reason)s") % {"number": recall.number, "reason": reason},
                permission="recalls.approve_recall",
                products=False,
            )
        else:
            recalled_batches_reject(
                batches=batches_to_reject(recall),
                source=recall,
                user=user,
                credentials=credentials[1:],
                reason=_("Rejected after recall %(number)s (class %(class)s): %(reason)s")
                % {"number": recall.number, "class": recall.recall_class, "reason": reason},
                permission="recalls.approve_recall",
            )
        sign(credential=credentials[0], record=recall, meaning=recall_approve.meaning, comment=reason)
        _issue_final_report_after_commit(recall, user)
    return recall


def batches_to_reject(recall: Recall) -> list[Batch]:
    """The recall's batches a "keep as rejected" closure rejects: those still released (one
    already rejected or voided stays as it is)."""
    batches = [rb.batch for rb in recall.batches.select_related("batch").order_by("batch__batch_number")]
    return [b for b in batches if cannot_reject_after_recall(b) is None]


def _issue_final_report_after_commit(recall: Recall, user: User) -> None:
    try:
        from recalls.pdf import issue_final_report
    except ImportError:  # the PDF module arrives with its own step
        return
    from core.pdf import issue_after_commit

    issue_after_commit(issue_final_report, recall_pk=recall.pk, user_pk=user.pk)


# --- deadline rules (R-RCL-4) ------------------------------------------------------------------


def deadline_rule_revise(*, user: User, changes: dict[tuple[str, str], int], reason: str) -> int:
    """Write a new version of the whole deadline table: the current rows with ``changes``
    ({(class, task): days}) applied, and the reason. Running recalls keep their version.
    Returns the new version number."""
    require_permission(user, "recalls.add_deadlinerule")
    reason = require_reason(reason, _("Give the reason for changing the deadline table."))
    problems = {}
    for key, days in changes.items():
        if not isinstance(days, int) or isinstance(days, bool) or days < 1 or days > 365:
            problems[f"{key[0]}-{key[1]}"] = [_("Enter a number of days from 1 to 365.")]
    if problems:
        raise InputError(problems)
    with transaction.atomic():
        current = DeadlineRule.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0
        rows = list(DeadlineRule.objects.filter(version=current))
        known = {(r.recall_class, r.task) for r in rows}
        unknown = [k for k in changes if k not in known]
        if unknown:
            raise WorkflowError(_("No such rule in the current table."))
        for r in rows:
            days = changes.get((r.recall_class, r.task), r.days)
            DeadlineRule(
                version=current + 1,
                recall_class=r.recall_class,
                task=r.task,
                anchor=r.anchor,
                days=days,
                verified=r.verified if days == r.days else False,
                basis=r.basis,
                reason=reason,
                created_by=user,
            ).save_audited(user=user, reason=reason)
    return current + 1


# --- mock recall (R-RCL-6) -----------------------------------------------------------------------


def mock_recall_start(*, user: User, product: Product | None, batches) -> MockRecall:
    """Start a mock recall: the clock starts, the consignee list is traced exactly as for a recall
    — no hold, no notice — and kept with the record."""
    require_permission(user, "recalls.run_mockrecall")
    if not isinstance(product, Product):
        raise InputError({"product": [_("Choose the product.")]})
    batches = _batches_of_product(batches, product, "batches")
    started_at = timezone.now()
    rows = consignees([b.pk for b in batches])
    trace = [
        {
            "customer": r["customer"],
            "address": r["address"],
            "contact": r["contact"],
            "batch": r["batch_number"],
            "quantity": r["quantity"],
            "shipments": r["shipments"],
            "first_dispatch": r["first_dispatch"].isoformat() if r["first_dispatch"] else "",
            "last_dispatch": r["last_dispatch"].isoformat() if r["last_dispatch"] else "",
        }
        for r in rows
    ]
    with transaction.atomic():
        mock = MockRecall(
            product=product,
            batch_numbers=", ".join(b.batch_number for b in batches)[:500],
            started_by=user,
            started_at=started_at,
            consignee_count=len({r["customer_id"] for r in rows}),
            quantity_shipped=sum(r["quantity"] or 0 for r in rows),
            trace=trace,
            last_changed_by=user,
        )
        mock.number = formatted_number("MCK", timezone.localdate().year, width=4)
        mock.save_audited(user=user, reason="started")
        mock.batches.set(batches)
    return mock


def cannot_complete_mock_recall(mock: MockRecall, user: User) -> str | None:
    if not user.has_perm("recalls.run_mockrecall"):
        return _("You do not have permission to do this.")
    if mock.status != MockRecall.Status.RUNNING:
        return _("Mock recall %(number)s is already complete: its time is recorded.") % {"number": mock.number}
    return None


@signs(Signature.Meaning.VERIFIED)
def mock_recall_complete(
    *, mock: MockRecall, user: User, password: str, conclusion: str, request: HttpRequest | None = None
) -> MockRecall:
    """The consignee list is confirmed complete: the clock stops; the conclusion is signed
    "Verified" and the record is kept as evidence of the recall-system check (GMP 第三百零五条)."""
    require_permission(user, "recalls.run_mockrecall")
    conclusion = require_reason(conclusion, _("Write the conclusion of the mock recall."))
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        mock = MockRecall.objects.select_for_update().get(pk=mock.pk)
        if refusal := cannot_complete_mock_recall(mock, user):
            raise WorkflowError(refusal)
        move(mock, MockRecall.Status.COMPLETE)
        mock.completed_by, mock.completed_at, mock.conclusion = user, timezone.now(), conclusion
        save_step(mock, user, conclusion)
        sign(credential=credential, record=mock, meaning=mock_recall_complete.meaning, comment=conclusion[:500])
    return mock
