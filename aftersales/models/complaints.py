"""aftersales models: complaints (B.2.3)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.feedback import Feedback, SalesChainProblem
from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link

# --- complaints (B.2.3) ---------------------------------------------------------------------------


class Responsibility(models.TextChoices):
    OURS = "ours", _("Ours")
    CARRIER = "carrier", _("Carrier")
    CUSTOMER = "customer", _("Customer")


class ComplaintQuerySet(AuditedQuerySet):
    def open(self) -> ComplaintQuerySet:
        return self.exclude(status=Complaint.Status.CLOSED)

    def unread_by_qp(self) -> ComplaintQuerySet:
        return self.filter(qp_acknowledged_at__isnull=True)

    def counted(self) -> ComplaintQuerySet:
        """What the monthly ledger counts as complaints, in its total and in the complaint rate
        alike (AS-4.2.6, R-VIS-2): an enquiry is not a complaint about the product."""
        return self.exclude(triage=Complaint.Triage.ENQUIRY)

    def enquiries(self) -> ComplaintQuerySet:
        return self.filter(triage=Complaint.Triage.ENQUIRY)


class Complaint(ChangeTracked):
    """A complaint handled by QA (AS-4.2.2, 4.2.4, 4.2.5; GMP 第二百七十一–二百七十七条; R-CMP-1)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        INVESTIGATING = "investigating", _("Under investigation")
        CLOSED = "closed", _("Closed")

    class Triage(models.TextChoices):
        QUALITY_DEFECT = "quality_defect", _("Quality defect")
        POSSIBLE_ADR = "possible_adr", _("Possible ADR")
        RETURN = "return", _("Return")
        SALES_CHAIN = "sales_chain", _("Sales-chain problem")
        ENQUIRY = "enquiry", _("Enquiry")

    TRANSITIONS = {
        Status.RECEIVED: {Status.INVESTIGATING},
        Status.INVESTIGATING: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    INVESTIGATION_FIELDS = (
        "retained_sample_result",
        "batch_record_review",
        "other_batches_considered",
        "other_batches_conclusion",
        "root_cause",
        "capa_reference",
        "responsibility",
        "sales_chain_action",
    )
    DECISION_FIELDS = ("recall_needed", "recall_rationale")
    REPLY_FIELDS = ("reply_at", "reply_content")
    EDITABLE_FIELDS = ("triage", "assigned_to") + INVESTIGATION_FIELDS + DECISION_FIELDS + REPLY_FIELDS
    SIGNED_FIELDS = (
        "number",
        "product",
        "batch",
        "triage",
        "status",
        "root_cause",
        "other_batches_conclusion",
        "responsibility",
        "sales_chain_action",
        "recall_needed",
        "recall_rationale",
        "reply_at",
        "reply_content",
    )
    # What QA's closing signature vouches for beyond the complaint's data (core.models.signed_state).
    REQUIRED_SIGNATURES = {Status.CLOSED: "closed"}  # core.integrity: the status stands only with this signature
    SIGNED_STATE = (
        "status",
        "feedback",
        "received_at",
        "description",
        "return_expected",
        "sales_chain_problem",
        "assigned_to",
        "retained_sample_result",
        "batch_record_review",
        "other_batches_considered",
        "capa_reference",
        "reply_due",
        "closed_at",
        "closed_by",
        # "Place a hold?" answered "no" (R-CMP-1): the closing signature vouches for that answer too.
        "hold_not_needed_reason",
        "hold_not_needed_by",
        "hold_not_needed_at",
    )
    UNSIGNED_FIELDS = {
        "qp_acknowledged_at": "the QP's reading is its own step and may come after closure (GMP 第二百七十二条)",
        "qp_acknowledged_by": "as qp_acknowledged_at",
    }
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    feedback = models.OneToOneField(
        Feedback, verbose_name=_("feedback record"), on_delete=models.PROTECT, related_name="complaint"
    )
    received_at = models.DateTimeField(_("received at"))
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    batch = models.ForeignKey(
        "release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.TextField(_("nature and description"))
    triage = models.CharField(_("triage"), max_length=16, choices=Triage.choices)
    # AS-4.2.4: a return asked for on quality grounds is a complaint, and a return is expected.
    return_expected = models.BooleanField(_("a return is expected"), default=False)
    sales_chain_problem = models.CharField(
        _("sales-chain problem"), max_length=24, choices=SalesChainProblem.choices, blank=True
    )
    assigned_to = models.ForeignKey(
        "core.User",
        verbose_name=_("investigator (QA)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    retained_sample_result = models.TextField(_("retained-sample test"), blank=True)
    batch_record_review = models.TextField(_("batch-record review"), blank=True)
    other_batches_considered = models.TextField(_("other batches considered"), blank=True)
    other_batches_conclusion = models.TextField(_("conclusion on other batches"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    capa_reference = models.CharField(_("CAPA reference"), max_length=100, blank=True)
    responsibility = models.CharField(_("responsibility"), max_length=16, choices=Responsibility.choices, blank=True)
    sales_chain_action = models.TextField(
        _("action (replacement shipment or explanation given)"),
        blank=True,
        help_text=_("AS-4.2.5: ours → a replacement shipment; otherwise the explanation given to the customer."),
    )
    recall_needed = models.BooleanField(_("recall needed?"), null=True, blank=True)
    recall_rationale = models.TextField(_("rationale"), blank=True)
    reply_due = models.DateTimeField(_("reply due"))
    reply_at = models.DateTimeField(_("replied to the complainant at"), null=True, blank=True)
    reply_content = models.TextField(_("reply to the complainant"), blank=True)
    qp_acknowledged_at = models.DateTimeField(_("read by the QP at"), null=True, blank=True)
    qp_acknowledged_by = models.ForeignKey(
        "core.User", verbose_name=_("read by the QP"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # "Place a hold?" (R-CMP-1) answered "no": QA's reasoned decision, recorded once
    # (complaint_decide_no_hold, audited with who, when and why). "Yes" is a ComplaintHold row.
    hold_not_needed_reason = models.TextField(_("why no hold is needed"), blank=True)
    hold_not_needed_by = models.ForeignKey(
        "core.User",
        verbose_name=_("no hold needed, decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    hold_not_needed_at = models.DateTimeField(_("no hold needed, decided at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        "core.User", verbose_name=_("closed by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True
    )

    objects = ComplaintQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-received_at", "-pk"]
        # The list's order: read from the index and joined row by row for the page shown, not by
        # joining every complaint to the 100,000 batches and sorting (26 → 3 ms at scale 1.0).
        indexes = [
            models.Index(fields=["-received_at", "-id"], name="aftersales_complaint_recent"),
            # The My work queues (aftersales.work): the open complaints by reply deadline and those
            # the QP has not read, each read in order from its own small index instead of scanning
            # every complaint of ten years (1.7 → 0.14 ms at scale 1.0, issue 12).
            models.Index(fields=["reply_due", "id"], condition=~Q(status="closed"), name="aftersales_complaint_open"),
            models.Index(
                fields=["received_at", "id"],
                condition=Q(qp_acknowledged_at__isnull=True),
                name="aftersales_complaint_unread",
            ),
        ]
        permissions = [
            ("close_complaint", _("Can close complaints")),
            ("acknowledge_complaint", _("Can acknowledge quality complaints as qualified person")),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("aftersales:complaint_detail", self.pk)

    @property
    def replacement_needed(self) -> bool:
        """AS-4.2.5: the company's own fault in the sales chain ends in a replacement shipment."""
        return self.triage == self.Triage.SALES_CHAIN and self.responsibility == Responsibility.OURS

    @property
    def reply_overdue(self) -> bool:
        return self.reply_at is None and self.status != self.Status.CLOSED and timezone.now() > self.reply_due


class ComplaintHold(ChangeTracked):
    """QA's decision, from a complaint that suggests a quality defect, to put the batch on hold
    (R-CMP-1 "place a hold?"; GMP 第二百七十三条). The hold itself is release's (``BatchHold``,
    placed through ``release.for_shipping.hold_place`` with this complaint as its source); this row
    carries the signature "Hold placed", so it keeps verifying when the hold is later lifted (the
    hold's own record changes then and carries the lifting signature)."""

    SIGNED_FIELDS = ("complaint", "batch", "hold", "reason", "placed_by", "placed_at")
    AUDIT_LABEL_FIELD = "reason"

    LABEL_RELATED = ("complaint",)  # what __str__ reads: read with it where the audit trail names it

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="hold_decisions"
    )
    batch = models.ForeignKey("release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    hold = models.OneToOneField(
        "release.BatchHold", verbose_name=_("batch hold"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(_("reason for the hold"))
    placed_by = models.ForeignKey("core.User", verbose_name=_("placed by"), on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("placed at"))

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("hold placed from a complaint")
        verbose_name_plural = _("holds placed from complaints")
        ordering = ["placed_at", "pk"]

    def __str__(self) -> str:
        return f"{self.complaint.number} · {self.reason[:60]}"

    def get_absolute_url(self) -> str:
        return self.complaint.get_absolute_url()
