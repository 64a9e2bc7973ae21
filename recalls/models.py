"""Recalls (召回): recall information and the product lock, the recall record, its consignees,
recovered goods, progress, deadline rules and mock recalls (R-RCL-1…6; sop-checklists B.4, B.6).

Fields marked *proposed* come from the SOP wording and the regulations (the seed procedure stops at
item 3.5, sop-checklists §0); confirm them with the plant's QA.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link


class RecallClass(models.TextChoices):
    """药品召回管理办法: the class drives every deadline (sop-checklists B.4.2)."""

    I = "I", _("Class I (serious harm)")  # noqa: E741 — the regulation's own name
    II = "II", _("Class II (temporary or reversible harm)")
    III = "III", _("Class III (generally no harm)")


# --- recall information (召回信息) ---------------------------------------------------------------


class InformationSource(models.TextChoices):
    """Where recall information comes from (追回操作规程 1.1–1.5, 2.1–2.5; R-RCL-1)."""

    REGULATOR_NOTICE = "regulator_notice", _("RCL-1.1 Regulator's announcement or notice of a substandard drug")
    RETAINED_SAMPLE = "retained_sample", _("RCL-1.2 Retained-sample or retrospective check finding")
    MARKET_SAMPLING = "market_sampling", _("RCL-1.3 Regulatory testing or market sampling failure")
    DETERIORATION = "deterioration", _("RCL-1.4 Sold stock deteriorated, not through storage")
    COMPLAINT = "complaint", _("RCL-1.5 Confirmed customer complaint")
    SUPPLIER_NOTICE = "supplier_notice", _("RCL-2 Manufacturer's or supplier's recall notice")
    ADR = "adr", _("RCL-2 Adverse drug reaction signal")
    OOS = "oos", _("RCL-2 Out-of-specification result")
    DEVIATION = "deviation", _("RCL-2 Deviation")


class InformationForm(models.TextChoices):
    """The form the information arrived in (追回操作规程 2: 公共媒体、文件转发、正式文本、电话、传真、电子邮件)."""

    MEDIA = "media", _("Public media")
    DOCUMENT = "document", _("Forwarded document")
    FORMAL_TEXT = "formal_text", _("Formal text")
    PHONE = "phone", _("Telephone")
    FAX = "fax", _("Fax")
    EMAIL = "email", _("E-mail")


class Scope(models.TextChoices):
    """追回操作规程 3.3–3.5: a local problem (one storage point, one customer) or a general one."""

    LOCAL = "local", _("Local (one storage point or customer)")
    GENERAL = "general", _("General or major quality problem")


class RecallInformationQuerySet(AuditedQuerySet):
    def open(self) -> RecallInformationQuerySet:
        return self.filter(status__in=[RecallInformation.Status.RECEIVED, RecallInformation.Status.ANALYSED])


class RecallInformation(ChangeTracked):
    """Recall information as received (召回信息记录). Saving it locks the whole product in the same
    transaction (追回操作规程 3.1, R-RCL-2); QA analyses and proposes; the quality head decides."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received — product locked")
        ANALYSED = "analysed", _("Analysed — awaiting the quality head")
        NO_RECALL = "no_recall", _("Decided: no recall")
        RECALL = "recall", _("Decided: recall started")

    TRANSITIONS = {
        Status.RECEIVED: {Status.ANALYSED},
        Status.ANALYSED: {Status.NO_RECALL, Status.RECALL},
        Status.NO_RECALL: set(),
        Status.RECALL: set(),
    }
    EDITABLE_FIELDS = ("scope", "analysis", "proposal")
    # QA's analysis signature covers what was received and the analysis; the quality head's
    # decision is the later step (its signature records it in the state).
    SIGNED_FIELDS = (
        "number",
        "source",
        "form",
        "received_at",
        "product",
        "batch_numbers",
        "description",
        "scope",
        "analysis",
        "proposal",
        "proposed_by",
        "proposed_at",
    )
    SIGNED_STATE = (
        "status",
        "source_type",
        "source_id",
        "source_label",
        "recorded_by",
        "decided_by",
        "decided_at",
        "decision_reason",
    )
    REQUIRED_SIGNATURES = {Status.ANALYSED: "reviewed", Status.NO_RECALL: "approved"}
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    source = models.CharField(_("source of the information"), max_length=32, choices=InformationSource.choices)
    form = models.CharField(_("form received in"), max_length=16, choices=InformationForm.choices)
    received_at = models.DateTimeField(_("received at"))
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    batch_numbers = models.CharField(
        _("batches named, if known"), max_length=500, blank=True, help_text=_("Batch numbers, separated by commas")
    )
    description = models.TextField(_("description"))
    # The record that raised it (a complaint, ADR case, OOS, deviation); frozen label beside it.
    source_type = models.ForeignKey(
        ContentType, verbose_name=_("raised from"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source_id = models.PositiveBigIntegerField(_("raised from record"), null=True, blank=True)
    source_record = GenericForeignKey("source_type", "source_id")
    source_label = models.CharField(_("raised from"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        "core.User", verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    scope = models.CharField(_("local or general"), max_length=16, choices=Scope.choices, blank=True)
    analysis = models.TextField(_("analysis"), blank=True)
    proposal = models.TextField(_("QA's proposal"), blank=True)
    proposed_by = models.ForeignKey(
        "core.User", verbose_name=_("proposed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "core.User", verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason for the decision"), blank=True)

    objects = RecallInformationQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("recall information")
        verbose_name_plural = _("recall information")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"])]
        permissions = [
            ("analyse_recallinformation", _("Can analyse recall information and propose (signed)")),
            ("decide_recallinformation", _("Can decide on recall information (quality head, signed)")),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("recalls:information_detail", self.pk)


# --- the recall (召回) -------------------------------------------------------------------------


class RecallQuerySet(AuditedQuerySet):
    def open(self) -> RecallQuerySet:
        return self.filter(status__in=[Recall.Status.PROPOSED, Recall.Status.IN_PROGRESS, Recall.Status.CLOSING])


class Recall(ChangeTracked):
    """A recall: QA proposes it (class, reason, evaluation, batches, plan), the quality head starts
    it; QA closes it with the effectiveness evaluation and the QP approves the final report."""

    class Kind(models.TextChoices):
        VOLUNTARY = "voluntary", _("Voluntary recall")
        ORDERED = "ordered", _("Ordered recall (责令召回)")

    class Depth(models.TextChoices):
        DISTRIBUTORS = "distributors", _("Distributors")
        USERS = "users", _("Pharmacies and hospitals")
        PATIENTS = "patients", _("Patients")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed by QA")
        IN_PROGRESS = "in_progress", _("In progress")
        CLOSING = "closing", _("Closed by QA — awaiting the QP")
        CLOSED = "closed", _("Closed")

    class HoldDisposition(models.TextChoices):
        LIFT = "lift", _("Lift the holds (the hazard is removed)")
        KEEP = "keep", _("Keep the batches held as rejected goods")

    TRANSITIONS = {
        Status.PROPOSED: {Status.IN_PROGRESS},
        Status.IN_PROGRESS: {Status.CLOSING},
        Status.CLOSING: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    PLAN_FIELDS = (
        "plan_quantity",
        "plan_measures",
        "plan_publication",
        "plan_expected_effect",
        "plan_target_percent",
        "plan_completion_date",
        "plan_handling",
        "plan_contact",
    )
    # What QA proposes and the quality head approves is fixed once proposed; every later step is
    # recorded in the state. The plan may be revised before the decision (``recall_plan_revise``,
    # re-signed "Prepared"): it changes after the first signature, so it is signed state — each
    # signature records the plan it saw and the newest one vouches for the plan now.
    SIGNED_FIELDS = (
        "number",
        "information",
        "product",
        "kind",
        "order_reference",
        "recall_class",
        "reason",
        "hazard_evaluation",
        "depth",
        "coordinator",
        "qualified_person",
        "proposed_by",
        "proposed_at",
    )
    SIGNED_STATE = (
        *PLAN_FIELDS,
        "status",
        "started_by",
        "started_at",
        "deadline_version",
        "effectiveness_evaluation",
        "outstanding_justification",
        "hold_disposition",
        "closed_by",
        "closed_at",
        "approved_by",
        "approved_at",
        "affected_batches",
        "reconciliation_at_closure",
    )
    # The batches (RecallBatch rows) and, from QA's closure on, the reconciliation totals give the
    # recall its meaning but live in other tables: each signature records them as they were
    # (core.models.signed_state) and the integrity check compares them with the rows now. A batch
    # added later comes with its own "Approved" signature (recall_add_batch), which then vouches.
    DERIVED_STATE = {
        "affected_batches": _("recalled batches"),
        "reconciliation_at_closure": _("reconciliation at closure"),
    }
    DERIVED_STATE_PREFETCH = ("batches__batch", "consignees")
    REQUIRED_SIGNATURES = {
        Status.PROPOSED: "authored",
        Status.IN_PROGRESS: "approved",
        Status.CLOSING: "closed",
        Status.CLOSED: "approved",
    }
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PROPOSED)
    information = models.OneToOneField(
        RecallInformation, verbose_name=_("recall information"), on_delete=models.PROTECT, related_name="recall"
    )
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("voluntary or ordered"), max_length=16, choices=Kind.choices)
    order_reference = models.CharField(_("regulator's order (责令召回) reference"), max_length=200, blank=True)
    recall_class = models.CharField(_("recall class"), max_length=3, choices=RecallClass.choices)
    reason = models.TextField(_("reason for the recall"))
    hazard_evaluation = models.TextField(_("health-hazard evaluation (investigation-evaluation report)"))
    depth = models.CharField(_("depth of the recall"), max_length=16, choices=Depth.choices)
    coordinator = models.ForeignKey(
        "core.User", verbose_name=_("recall coordinator"), on_delete=models.PROTECT, related_name="+"
    )
    qualified_person = models.ForeignKey(
        "core.User", verbose_name=_("qualified person informed"), on_delete=models.PROTECT, related_name="+"
    )
    # The recall plan (召回计划, 药品召回管理办法; proposed fields, sop-checklists B.4.2).
    plan_quantity = models.PositiveIntegerField(_("quantity to recover"))
    plan_measures = models.TextField(_("measures (organisation, scope, time limits)"))
    plan_publication = models.TextField(_("how and where the recall is published"))
    plan_expected_effect = models.TextField(_("expected effect"))
    plan_target_percent = models.DecimalField(
        _("target effectiveness (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    plan_completion_date = models.DateField(_("recovery to be complete by"))
    plan_handling = models.TextField(_("handling after recovery"))
    plan_contact = models.CharField(_("contact person"), max_length=200)
    proposed_by = models.ForeignKey(
        "core.User", verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    started_by = models.ForeignKey(
        "core.User", verbose_name=_("started by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("decided and started at"), null=True, blank=True)
    deadline_version = models.PositiveIntegerField(_("deadline rule version"), null=True, blank=True)
    effectiveness_evaluation = models.TextField(_("effectiveness evaluation"), blank=True)
    outstanding_justification = models.TextField(_("justification of the outstanding quantity"), blank=True)
    hold_disposition = models.CharField(
        _("holds at closure"), max_length=8, choices=HoldDisposition.choices, blank=True
    )
    closed_by = models.ForeignKey(
        "core.User", verbose_name=_("closed by (QA)"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed by QA at"), null=True, blank=True)
    approved_by = models.ForeignKey(
        "core.User",
        verbose_name=_("final report approved by (QP)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("final report approved at"), null=True, blank=True)

    objects = RecallQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["status", "proposed_at"])]
        permissions = [
            ("propose_recall", _("Can propose a recall (QA, signed)")),
            ("start_recall", _("Can start a recall (quality head, signed)")),
            ("trace_recall", _("Can record notifications, quantities and progress (recall coordinator)")),
            ("close_recall", _("Can close a recall (QA, signed)")),
            ("approve_recall", _("Can approve a recall's final report (QP, signed)")),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("recalls:recall_detail", self.pk)

    @property
    def affected_batches(self) -> list[str]:
        """The recalled batch numbers, sorted (a batch of another product is marked: only SQL can
        put one there). Uses prefetched ``batches__batch`` when present."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("batches")
        if prefetched is not None:
            pairs = [(row.batch.batch_number, row.batch.product_id) for row in prefetched]
        else:
            pairs = list(self.batches.values_list("batch__batch_number", "batch__product_id"))
        return sorted(
            number if product == self.product_id else f"{number} [product #{product}]" for number, product in pairs
        )

    @property
    def reconciliation_at_closure(self) -> dict[str, int] | None:
        """From QA's closure on, the totals the closure and the final report vouch for (R-RCL-5);
        ``None`` while the recall runs (the quantities are still being recorded then)."""
        if self.status not in (self.Status.CLOSING, self.Status.CLOSED):
            return None
        names = ("quantity_shipped", *RecallConsignee.QUANTITY_FIELDS)
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("consignees")
        rows = (
            [tuple(getattr(r, n) for n in names) for r in prefetched]
            if prefetched is not None
            else list(self.consignees.values_list(*names))
        )
        totals = {"consignees": len(rows)}
        for i, name in enumerate(names):
            totals[name.removeprefix("quantity_")] = sum(r[i] for r in rows)
        return totals


class RecallBatch(AuditedModel):
    """A batch in a recall's scope; added when the recall starts or later (held at once)."""

    recall = models.ForeignKey(Recall, verbose_name=_("recall"), on_delete=models.PROTECT, related_name="batches")
    batch = models.ForeignKey("release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    added_by = models.ForeignKey("core.User", verbose_name=_("added by"), on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added at"), default=timezone.now)
    added_reason = models.TextField(_("reason"), blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("recalled batch")
        verbose_name_plural = _("recalled batches")
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["recall", "batch"], name="recall_batch_once")]

    def __str__(self) -> str:
        return f"{self.recall_id}: {self.batch_id}"


class RecallConsignee(ChangeTracked):
    """One consignee and batch of a recall (R-RCL-3, R-RCL-5): what was shipped (from the
    distribution records), the notice and its acknowledgement, and what became of the goods."""

    class Method(models.TextChoices):
        PHONE = "phone", _("Telephone")
        FAX = "fax", _("Fax")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        VISIT = "visit", _("Visit")

    QUANTITY_FIELDS = ("quantity_held", "quantity_returned", "quantity_used", "quantity_destroyed")
    EDITABLE_FIELDS = QUANTITY_FIELDS

    recall = models.ForeignKey(Recall, verbose_name=_("recall"), on_delete=models.PROTECT, related_name="consignees")
    customer = models.ForeignKey(
        "aftersales.Customer", verbose_name=_("consignee"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey("release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    consignee_name = models.CharField(_("consignee"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    is_distributor = models.BooleanField(_("distributor"), default=False)
    quantity_shipped = models.PositiveIntegerField(_("shipped"))
    shipments = models.PositiveIntegerField(_("distribution records"), default=0)
    first_dispatch = models.DateField(_("first dispatch"), null=True, blank=True)
    last_dispatch = models.DateField(_("last dispatch"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    notified_by = models.ForeignKey(
        "core.User", verbose_name=_("notified by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notice_method = models.CharField(_("notified by (method)"), max_length=16, choices=Method.choices, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by_name = models.CharField(_("acknowledged by"), max_length=100, blank=True)
    passed_on_at = models.DateTimeField(_("pass-on confirmed at"), null=True, blank=True)
    quantity_held = models.PositiveIntegerField(_("held at the consignee"), default=0)
    quantity_returned = models.PositiveIntegerField(_("returned"), default=0)
    quantity_used = models.PositiveIntegerField(_("used or dispensed"), default=0)
    quantity_destroyed = models.PositiveIntegerField(_("destroyed on site"), default=0)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("recall consignee")
        verbose_name_plural = _("recall consignees")
        ordering = ["consignee_name", "batch_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["recall", "customer", "batch"], name="recall_consignee_once"),
            models.CheckConstraint(
                condition=models.Q(
                    quantity_shipped__gte=models.F("quantity_held")
                    + models.F("quantity_returned")
                    + models.F("quantity_used")
                    + models.F("quantity_destroyed")
                ),
                name="recall_consignee_not_more_than_shipped",
            ),
        ]

    def __str__(self) -> str:
        return self.consignee_name

    @property
    def recovered(self) -> int:
        """Returned to us or destroyed on site: out of the market for good."""
        return self.quantity_returned + self.quantity_destroyed

    @property
    def outstanding(self) -> int:
        """Shipped and not yet accounted for (held, returned, used or destroyed)."""
        return self.quantity_shipped - (
            self.quantity_held + self.quantity_returned + self.quantity_used + self.quantity_destroyed
        )


class RecoveredGoods(ChangeTracked):
    """Recovered goods (召回药品): quarantined, then a recorded decision — destruction under
    supervision (an MPA of county level or higher, or a notary) or rework/relabelling only where it
    removes the hazard, never extending the expiry (sop-checklists B.4.2, R-RCL-5)."""

    class Decision(models.TextChoices):
        DESTROY = "destroy", _("Destroy under supervision")
        REWORK = "rework", _("Rework, relabel or repack (removes the hazard)")

    class Supervisor(models.TextChoices):
        AUTHORITY = "authority", _("Drug regulator (county level or higher)")
        NOTARY = "notary", _("Notary")

    SIGNED_FIELDS = (
        "recall",
        "batch",
        "quantity",
        "quarantine_location",
        "decision",
        "supervisor_kind",
        "supervisor_name",
        "hazard_removed_by",
        "original_expiry",
        "new_expiry",
        "decided_by",
        "decided_at",
    )
    AUDIT_LABEL_FIELD = "quarantine_location"

    recall = models.ForeignKey(Recall, verbose_name=_("recall"), on_delete=models.PROTECT, related_name="recovered")
    batch = models.ForeignKey("release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    quarantine_location = models.CharField(_("quarantine location"), max_length=200)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    supervisor_kind = models.CharField(_("supervised by"), max_length=16, choices=Supervisor.choices, blank=True)
    supervisor_name = models.CharField(_("supervisor (authority or notary)"), max_length=200, blank=True)
    hazard_removed_by = models.TextField(_("how the rework removes the hazard"), blank=True)
    original_expiry = models.DateField(_("original expiry date"))
    new_expiry = models.DateField(_("expiry date after rework"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "core.User", verbose_name=_("decided by"), on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("recovered goods")
        verbose_name_plural = _("recovered goods")
        ordering = ["decided_at", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} · {self.get_decision_display()}"


class ProgressEntry(AuditedModel):
    """A progress entry of a recall (进展): a report to the regulator, the filing, or a note."""

    class Kind(models.TextChoices):
        FILING = "filing", _("Evaluation report, plan and notice filed with the provincial regulator")
        PROGRESS_REPORT = "progress_report", _("Progress report to the regulator")
        COMPLETION_REPORT = "completion_report", _("Completion report to the regulator")
        NOTE = "note", _("Note")

    recall = models.ForeignKey(Recall, verbose_name=_("recall"), on_delete=models.PROTECT, related_name="progress")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("date and time"))
    text = models.TextField(_("content"))
    recorded_by = models.ForeignKey(
        "core.User", verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("progress entry")
        verbose_name_plural = _("progress entries")
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["recall", "kind", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


# --- deadline rules (R-RCL-4): data, versioned, changed with a reason ---------------------------


class DeadlineRule(AuditedModel):
    """One deadline of one recall class in one version of the rule table (R-RCL-4).

    A change never edits a row: it writes a new version of the whole table with the reason
    (``services.deadline_rule_revise``); a recall keeps the version it started with.
    """

    class Task(models.TextChoices):
        NOTICE = "notice", _("Recall notice issued and evaluation report, plan and notice filed")
        PROGRESS = "progress", _("Progress report")
        COMPLETION = "completion", _("Completion report")

    class Anchor(models.TextChoices):
        DECISION = "decision", _("days after the recall decision")
        EVERY = "every", _("every N days from the decision until closure")
        COMPLETION = "completion", _("days after the planned completion of recovery")

    version = models.PositiveIntegerField(_("version"))
    recall_class = models.CharField(_("recall class"), max_length=3, choices=RecallClass.choices)
    task = models.CharField(_("task"), max_length=16, choices=Task.choices)
    anchor = models.CharField(_("counted"), max_length=16, choices=Anchor.choices)
    days = models.PositiveIntegerField(_("days"), validators=[MinValueValidator(1)])
    verified = models.BooleanField(_("verified against the official text"), default=False)
    basis = models.CharField(_("legal basis"), max_length=300)
    reason = models.TextField(_("reason for this version"))
    created_by = models.ForeignKey(
        "core.User", verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("recall deadline rule")
        verbose_name_plural = _("recall deadline rules")
        ordering = ["-version", "recall_class", "task"]
        constraints = [
            models.UniqueConstraint(fields=["version", "recall_class", "task"], name="deadline_rule_once_per_version")
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.recall_class} {self.task}: {self.days}"


# --- mock recall (模拟召回, GMP 第三百零五条, R-RCL-6) ----------------------------------------------


class MockRecall(ChangeTracked):
    """A mock recall: the same trace and reconciliation with no holds and no notices, timed from
    start to the complete consignee list, kept as evidence of the periodic recall-system check."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        COMPLETE = "complete", _("Consignee list complete")

    TRANSITIONS = {Status.RUNNING: {Status.COMPLETE}, Status.COMPLETE: set()}
    SIGNED_FIELDS = (
        "number",
        "status",
        "product",
        "batch_numbers",
        "started_by",
        "started_at",
        "completed_by",
        "completed_at",
        "consignee_count",
        "quantity_shipped",
        "trace",
        "conclusion",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    batches = models.ManyToManyField("release.Batch", verbose_name=_("batches"), related_name="+")
    batch_numbers = models.CharField(_("batches"), max_length=500)
    started_by = models.ForeignKey(
        "core.User", verbose_name=_("started by"), on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("started at"))
    completed_by = models.ForeignKey(
        "core.User", verbose_name=_("completed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(_("consignee list complete at"), null=True, blank=True)
    consignee_count = models.PositiveIntegerField(_("consignees"), default=0)
    quantity_shipped = models.PositiveIntegerField(_("quantity shipped"), default=0)
    trace = models.JSONField(_("consignee list as traced"), default=list)
    conclusion = models.TextField(_("conclusion"), blank=True)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("mock recall")
        verbose_name_plural = _("mock recalls")
        ordering = ["-started_at", "-id"]
        permissions = [("run_mockrecall", _("Can run a mock recall"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("recalls:mock_detail", self.pk)

    @property
    def duration(self):
        if self.completed_at is None:
            return None
        return self.completed_at - self.started_at
