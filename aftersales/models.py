"""After-sales records: customers and their GSP qualification, the 市场信息反馈记录 (feedback intake),
complaints and ADR cases (aftersales/README.md has the state tables and permissions).

Field lists follow ../shared/reference/sop-checklists.md B.2.2–B.2.4 and B.3. The forms
《市场信息反馈记录》, SMP-ZL-QA024 (complaints) and the ADR SOP are not in the seed, so those field
lists are *proposed* (from the SOP wording and GMP/GSP) and to be confirmed with the plant's QA.
Products and batches are release's, reached by string foreign keys (imports point one way).
"""

from __future__ import annotations

from datetime import date, datetime

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history

# --- customers and GSP qualification (B.3) --------------------------------------------------------


class CustomerType(models.TextChoices):
    DISTRIBUTOR = "distributor", _("Distributor")
    HOSPITAL = "hospital", _("Hospital / medical institution")
    PHARMACY = "pharmacy", _("Pharmacy")
    CHAIN_OUTLET = "chain_outlet", _("Chain-pharmacy outlet")
    OTHER = "other", _("Other")


class ApprovalRole(models.TextChoices):
    """GSP-5.5: the 《客户资质审核表》 is approved by 销售部, 质管部, 财务部 and 质量负责人."""

    SALES = "sales", _("Sales department")
    QA = "qa", _("Quality management department")
    FINANCE = "finance", _("Finance department")
    QUALITY_HEAD = "quality_head", _("Quality head")


# The permission each approval needs (core/roles.py gives each to one role).
APPROVAL_PERMISSIONS = {
    ApprovalRole.SALES: "aftersales.approve_customer_sales",
    ApprovalRole.QA: "aftersales.approve_customer_qa",
    ApprovalRole.FINANCE: "aftersales.approve_customer_finance",
    ApprovalRole.QUALITY_HEAD: "aftersales.approve_customer_quality_head",
}


class CustomerQuerySet(AuditedQuerySet):
    def qualified(self) -> CustomerQuerySet:
        return self.filter(status=Customer.Status.QUALIFIED)

    def in_approval(self) -> CustomerQuerySet:
        return self.filter(status=Customer.Status.IN_APPROVAL)

    def awaiting_approval_by(self, user, roles: list[str]) -> CustomerQuerySet:
        """In approval, not yet approved by ``user`` this round, and some department of ``roles``
        still to approve: the SQL form of ``cannot_approve_customer`` for the My-work queue."""
        from django.db.models import Exists, OuterRef

        if not roles:
            return self.none()
        this_round = CustomerApproval.objects.filter(customer=OuterRef("pk"), approval_round=OuterRef("approval_round"))
        pending = Q()
        for role in roles:
            pending |= ~Q(Exists(this_round.filter(role=role)))
        return self.in_approval().exclude(Exists(this_round.filter(approver=user))).filter(pending)


class Customer(ChangeTracked):
    """A purchaser (购货单位) in the qualified-customer file (合格客户档案, GSP-5.5)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_APPROVAL = "in_approval", _("In qualification approval")
        QUALIFIED = "qualified", _("Qualified")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.DRAFT: {Status.IN_APPROVAL, Status.VOIDED},
        # A change of the customer's data during approval or after it sends it back to draft:
        # the four approvals vouched for the data as it was.
        Status.IN_APPROVAL: {Status.QUALIFIED, Status.DRAFT, Status.VOIDED},
        Status.QUALIFIED: {Status.DRAFT, Status.VOIDED},
        Status.VOIDED: set(),
    }
    SIGNED_FIELDS = (
        "name",
        "customer_type",
        "registered_address",
        "delivery_address",
        "seal_name",
        "approval_round",
    )
    REQUIRED_SIGNATURES = {Status.QUALIFIED: "approved"}  # core.integrity: the status stands only with this signature
    SIGNED_STATE = ("status",)
    UNSIGNED_FIELDS = {
        "contact_person": "contact details change without requalification (GSP-5.3: licences, names, seal, scope)",
        "phone": "as contact_person",
        "notes": "free notes, not part of the qualification",
    }
    EDITABLE_FIELDS = (
        "name",
        "customer_type",
        "registered_address",
        "delivery_address",
        "contact_person",
        "phone",
        "seal_name",
        "notes",
    )
    AUDIT_LABEL_FIELD = "name"

    name = models.CharField(_("customer name"), max_length=200)
    customer_type = models.CharField(_("customer type"), max_length=16, choices=CustomerType.choices)
    registered_address = models.CharField(_("registered address"), max_length=300)
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    contact_person = models.CharField(_("contact person"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    seal_name = models.CharField(
        _("name on the company seal"),
        max_length=200,
        help_text=_("As it reads on the seal on the documents provided (GSP-5.3.1: it must match the name)."),
    )
    notes = models.TextField(_("notes"), blank=True)
    # Approvals count only for the current round: a change after approval starts a new round.
    approval_round = models.PositiveIntegerField(_("approval round"), default=1, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)

    objects = CustomerQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "pk"]
        permissions = [
            ("approve_customer_sales", _("Can approve new customers for the sales department")),
            ("approve_customer_qa", _("Can approve new customers for the quality management department")),
            ("approve_customer_finance", _("Can approve new customers for the finance department")),
            ("approve_customer_quality_head", _("Can approve new customers as quality head")),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("aftersales:customer_detail", args=[self.pk])

    def current_approvals(self):
        return self.approvals.filter(approval_round=self.approval_round)


class CustomerApproval(AuditedModel):
    """One of the four approvals of a customer's qualification (GSP-5.5), signed.

    The constraints make the segregation structural: one approval per department and round, and
    one person approves at most once per round (four departments → four people).
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="approvals")
    approval_round = models.PositiveIntegerField(_("approval round"))
    role = models.CharField(_("approved for"), max_length=16, choices=ApprovalRole.choices)
    approver = models.ForeignKey("core.User", verbose_name=_("approver"), on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer approval")
        verbose_name_plural = _("customer approvals")
        ordering = ["approved_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "approval_round", "role"], name="aftersales_one_approval_per_role"
            ),
            models.UniqueConstraint(
                fields=["customer", "approval_round", "approver"], name="aftersales_one_approval_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.get_role_display()}"


class LicenceKind(models.TextChoices):
    DRUG_BUSINESS = "drug_business", _("Drug business licence (药品经营许可证)")
    MEDICAL_INSTITUTION = "medical_institution", _("Medical institution practice licence (医疗机构执业许可证)")
    BUSINESS = "business", _("Business licence (营业执照)")
    GSP = "gsp", _("GSP certificate")


class CustomerLicence(ChangeTracked):
    """A licence on file for a customer (GSP-5.3, 5.4), with its scope and validity."""

    EDITABLE_FIELDS = (
        "kind",
        "number",
        "name_on_licence",
        "seal_matches",
        "scope",
        "scope_dosage_forms",
        "valid_from",
        "valid_to",
    )
    AUDIT_LABEL_FIELD = "number"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="licences")
    kind = models.CharField(_("licence kind"), max_length=24, choices=LicenceKind.choices)
    number = models.CharField(_("licence number"), max_length=100)
    name_on_licence = models.CharField(_("name on the licence"), max_length=200)
    seal_matches = models.BooleanField(
        _("seal on the copy matches the name"),
        default=False,
        help_text=_("Checked on the copy bearing the customer's original seal (GSP-5.3.1, 5.4.2)."),
    )
    scope = models.TextField(_("business scope (as on the licence)"), blank=True)
    # The dosage forms the scope covers, so the check per product is exact, not a text search.
    scope_dosage_forms = models.JSONField(_("dosage forms covered"), default=list, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer licence")
        verbose_name_plural = _("customer licences")
        ordering = ["kind", "-valid_to", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__gte=models.F("valid_from")), name="aftersales_licence_valid_to_after_from"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


class CustomerPerson(ChangeTracked):
    """A contact, or a buyer / pick-up person the customer has authorised (GSP 第八十九条)."""

    class Kind(models.TextChoices):
        CONTACT = "contact", _("Contact")
        BUYER = "buyer", _("Authorised buyer")
        PICKUP = "pickup", _("Authorised pick-up person")

    EDITABLE_FIELDS = ("kind", "name", "id_number", "phone", "authorised_until")
    AUDIT_LABEL_FIELD = "name"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="people")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100)
    id_number = models.CharField(_("ID card number"), max_length=30, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    authorised_until = models.DateField(_("authorisation valid until"), null=True, blank=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer person")
        verbose_name_plural = _("customer people")
        ordering = ["kind", "name", "pk"]

    def __str__(self) -> str:
        return self.name


# --- feedback intake (市场信息反馈记录, B.2.2) ------------------------------------------------------


class Channel(models.TextChoices):
    LETTER = "letter", _("Letter")
    PHONE = "phone", _("Phone call")
    VISIT = "visit", _("Visit")
    EMAIL = "email", _("E-mail")
    MESSAGING = "messaging", _("Messaging app")
    CUSTOMER_VISIT = "customer_visit", _("Customer quality visit")
    OTHER = "other", _("Other")


class ReporterType(models.TextChoices):
    DISTRIBUTOR = "distributor", _("Pharmaceutical company")
    PHARMACY = "pharmacy", _("Pharmacy")
    HOSPITAL = "hospital", _("Medical institution")
    PATIENT = "patient", _("Patient / member of the public")
    OTHER = "other", _("Other")


class FeedbackClass(models.TextChoices):
    """AS-4.2.2–4.2.5: each class has its owner and record."""

    QUALITY_COMPLAINT = "quality_complaint", _("Quality complaint")
    POSSIBLE_ADR = "possible_adr", _("Possible adverse drug reaction")
    RETURN_REQUEST = "return_request", _("Return request on quality grounds")
    SALES_CHAIN = "sales_chain", _("Sales-chain problem")
    ENQUIRY = "enquiry", _("Enquiry")
    SUGGESTION = "suggestion", _("Suggestion")


class SalesChainProblem(models.TextChoices):
    QUALITY = "quality", _("Quality")
    QUANTITY = "quantity", _("Quantity")
    TRANSPORT_DAMAGE = "transport_damage", _("Transport damage")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    FAIRLY = "fairly", _("Fairly satisfied")
    DISSATISFIED = "dissatisfied", _("Dissatisfied")


class FeedbackQuerySet(AuditedQuerySet):
    def awaiting_response(self) -> FeedbackQuerySet:
        return self.filter(status=Feedback.Status.OPEN)


class Feedback(ChangeTracked):
    """One letter, call, visit or message: the 市场信息反馈记录 (AS-4.2.1). Its received time is
    day 0 for the complaint and ADR clocks it starts (AS-4.2.3)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting first response")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed and filed")

    TRANSITIONS = {
        Status.OPEN: {Status.ANSWERED},
        Status.ANSWERED: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    EDITABLE_FIELDS = (
        "received_at",
        "channel",
        "customer",
        "reporter_name",
        "reporter_type",
        "reporter_contact",
        "product",
        "batch",
        "batch_number",
        "description",
        "classification",
        "sales_chain_problem",
        "patient",
        "reply_at",
        "reply_method",
        "reply_content",
        "result",
        "satisfaction",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    received_at = models.DateTimeField(_("received at"), help_text=_("Day 0 of any complaint or ADR clock."))
    received_by = models.ForeignKey(
        "core.User", verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reporter_name = models.CharField(_("reporter"), max_length=100)
    reporter_type = models.CharField(_("reporter type"), max_length=16, choices=ReporterType.choices)
    reporter_contact = models.CharField(_("contact (phone, address)"), max_length=200, blank=True)
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    batch = models.ForeignKey(
        "release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # As the customer said it, when it matches no batch on file (a typo, a counterfeit).
    batch_number = models.CharField(_("batch number as reported"), max_length=50, blank=True)
    description = models.TextField(_("description"))
    classification = models.CharField(_("classification"), max_length=24, choices=FeedbackClass.choices)
    sales_chain_problem = models.CharField(
        _("sales-chain problem"), max_length=24, choices=SalesChainProblem.choices, blank=True
    )
    patient = models.CharField(
        _("patient (initials, age, sex)"),
        max_length=100,
        blank=True,
        help_text=_("Only what identifies the case; no full name (personal information protection)."),
    )
    first_response_due = models.DateTimeField(_("first response due"), db_index=True)
    reply_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    reply_method = models.CharField(_("reply method"), max_length=16, choices=Channel.choices, blank=True)
    reply_content = models.TextField(_("reply"), blank=True)
    result = models.TextField(_("handling result"), blank=True)
    satisfaction = models.CharField(_("customer satisfaction"), max_length=16, choices=Satisfaction.choices, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)

    objects = FeedbackQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("market feedback record")
        verbose_name_plural = _("market feedback records")
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["-received_at", "-id"], name="aftersales_feedback_keyset")]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("aftersales:feedback_detail", args=[self.pk])

    @property
    def response_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.now() > self.first_response_due

    @property
    def responded_late(self) -> bool:
        return self.reply_at is not None and self.reply_at > self.first_response_due


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
        permissions = [
            ("close_complaint", _("Can close complaints")),
            ("acknowledge_complaint", _("Can acknowledge quality complaints as qualified person")),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("aftersales:complaint_detail", args=[self.pk])

    @property
    def replacement_needed(self) -> bool:
        """AS-4.2.5: the company's own fault in the sales chain ends in a replacement shipment."""
        return self.triage == self.Triage.SALES_CHAIN and self.responsibility == Responsibility.OURS

    @property
    def reply_overdue(self) -> bool:
        return self.reply_at is None and self.status != self.Status.CLOSED and timezone.now() > self.reply_due


# --- ADR cases (B.2.4, B.6) -----------------------------------------------------------------------


class ADRRuleSet(models.Model):
    """A version of the ADR reporting deadlines (R-ADR-1). Reference data, seeded by migration;
    a new regulation is a new version, never an edit of the old one, so old cases keep theirs."""

    version = models.CharField(_("version"), max_length=32, unique=True)
    title = models.CharField(_("regulation"), max_length=200)
    effective_from = models.DateField(_("effective from"))

    class Meta:
        verbose_name = _("ADR deadline rule set")
        verbose_name_plural = _("ADR deadline rule sets")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return f"{self.title} ({self.version})"


class ADRRule(models.Model):
    class Applies(models.TextChoices):
        DEATH = "death", _("Death")
        GROUP = "group", _("Group event")
        NEW_OR_SERIOUS = "new_or_serious", _("New or serious")
        OTHER = "other", _("Other")

    class Confidence(models.TextChoices):
        VERIFIED = "V", _("Wording verified")
        SECONDARY = "S", _("From secondary sources; to be confirmed against the official text")

    ruleset = models.ForeignKey(ADRRuleSet, on_delete=models.PROTECT, related_name="rules")
    applies_to = models.CharField(_("applies to"), max_length=16, choices=Applies.choices)
    # 0 = immediately (立即).
    report_within_days = models.PositiveSmallIntegerField(_("report within (days)"))
    report_confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices)
    investigation_within_days = models.PositiveSmallIntegerField(
        _("investigation report within (days)"), null=True, blank=True
    )
    investigation_confidence = models.CharField(_("confidence"), max_length=1, choices=Confidence.choices, blank=True)
    citation = models.CharField(_("citation"), max_length=200)

    class Meta:
        verbose_name = _("ADR deadline rule")
        verbose_name_plural = _("ADR deadline rules")
        constraints = [models.UniqueConstraint(fields=["ruleset", "applies_to"], name="aftersales_one_rule_per_kind")]

    def __str__(self) -> str:
        return f"{self.ruleset.version}: {self.get_applies_to_display()}"


class ADRCaseQuerySet(AuditedQuerySet):
    def open(self) -> ADRCaseQuerySet:
        return self.filter(status=ADRCase.Status.OPEN)

    def awaiting_action(self) -> ADRCaseQuerySet:
        """Not yet reported, or reported with an investigation report (death, group event) still due.
        Annotated with ``next_due``: the date the next step is due."""
        from django.db.models import Case, When

        return self.filter(
            Q(status=ADRCase.Status.OPEN) | Q(investigation_due__isnull=False, investigation_report__isnull=True)
        ).annotate(next_due=Case(When(status=ADRCase.Status.OPEN, then="report_due"), default="investigation_due"))

    def overdue(self, today: date | None = None) -> ADRCaseQuerySet:
        """The report or the investigation report is past its due date (R-ADR-1)."""
        today = today or timezone.localdate()
        return self.filter(
            Q(status=ADRCase.Status.OPEN, report_due__lt=today)
            | Q(investigation_due__lt=today, investigation_report__isnull=True)
        )


class ADRCase(ChangeTracked):
    """A possible adverse drug reaction (药品不良反应), day 0 = first awareness in the company."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open (not yet reported)")
        REPORTED = "reported", _("Reported")

    class Outcome(models.TextChoices):
        UNKNOWN = "unknown", _("Unknown")
        RECOVERING = "recovering", _("Recovering")
        RECOVERED = "recovered", _("Recovered")
        SEQUELAE = "sequelae", _("Recovered with sequelae")
        NOT_RECOVERED = "not_recovered", _("Not recovered")
        DEATH = "death", _("Death")

    class Causality(models.TextChoices):
        CERTAIN = "certain", _("Certain")
        PROBABLE = "probable", _("Probable")
        POSSIBLE = "possible", _("Possible")
        UNLIKELY = "unlikely", _("Unlikely")
        UNASSESSABLE = "unassessable", _("Unassessable")

    TRANSITIONS = {Status.OPEN: {Status.REPORTED}, Status.REPORTED: set()}
    SERIOUSNESS_FIELDS = (
        "serious_death",
        "serious_life_threatening",
        "serious_cancer_birth_defect",
        "serious_disability",
        "serious_hospitalisation",
        "serious_other",
    )
    EDITABLE_FIELDS = (
        "patient",
        "reporter",
        "reaction",
        "onset_date",
        "outcome",
        "dose_and_indication",
        "concomitant_drugs",
        *SERIOUSNESS_FIELDS,
        "is_new",
        "group_event",
        "causality",
    )
    SIGNED_FIELDS = (
        "number",
        "day0",
        "product",
        "batch",
        "reaction",
        *SERIOUSNESS_FIELDS,
        "is_new",
        "group_event",
        "ruleset",
        "report_due",
        "national_report_number",
        "reported_at",
        "status",
    )
    REQUIRED_SIGNATURES = {Status.REPORTED: "reported"}  # core.integrity: the status stands only with this signature
    SIGNED_STATE = (
        "status",
        "feedback",
        "patient",
        "reporter",
        "onset_date",
        "outcome",
        "dose_and_indication",
        "concomitant_drugs",
        "causality",
        "report_immediately",
        "investigation_due",
        "reported_by",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    feedback = models.OneToOneField(
        Feedback, verbose_name=_("feedback record"), on_delete=models.PROTECT, related_name="adr_case"
    )
    day0 = models.DateTimeField(
        _("day 0 (first awareness in the company)"),
        help_text=_("The first time anyone in the company learned of it, not the time QA received it."),
    )
    patient = models.CharField(_("patient (initials, age, sex)"), max_length=100)
    reporter = models.CharField(_("reporter"), max_length=200)
    product = models.ForeignKey(
        "release.Product", verbose_name=_("suspected drug"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reaction = models.TextField(_("adverse reaction"))
    onset_date = models.DateField(_("onset date"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.UNKNOWN)
    dose_and_indication = models.CharField(_("dose and indication"), max_length=200, blank=True)
    concomitant_drugs = models.TextField(_("concomitant drugs"), blank=True)
    serious_death = models.BooleanField(_("death"), default=False)
    serious_life_threatening = models.BooleanField(_("life-threatening"), default=False)
    serious_cancer_birth_defect = models.BooleanField(_("cancer, congenital anomaly or birth defect"), default=False)
    serious_disability = models.BooleanField(_("permanent disability or organ damage"), default=False)
    serious_hospitalisation = models.BooleanField(_("hospitalisation or its prolongation"), default=False)
    serious_other = models.BooleanField(_("other important medical event"), default=False)
    is_new = models.BooleanField(_("new (not in the label, or more severe or frequent than labelled)"), default=False)
    group_event = models.BooleanField(_("group event"), default=False)
    causality = models.CharField(_("causality"), max_length=16, choices=Causality.choices, blank=True)
    ruleset = models.ForeignKey(ADRRuleSet, verbose_name=_("deadline rules"), on_delete=models.PROTECT)
    report_due = models.DateField(_("report due"), db_index=True)
    report_immediately = models.BooleanField(_("report immediately"), default=False)
    investigation_due = models.DateField(_("investigation report due"), null=True, blank=True)
    national_report_number = models.CharField(_("national system report number"), max_length=64, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    reported_by = models.ForeignKey(
        "core.User", verbose_name=_("reported by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)

    objects = ADRCaseQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("ADR case")
        verbose_name_plural = _("ADR cases")
        ordering = ["report_due", "pk"]
        permissions = [("report_adrcase", _("Can record the national report of ADR cases"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("aftersales:adr_detail", args=[self.pk])

    @property
    def is_serious(self) -> bool:
        return any(getattr(self, f) for f in self.SERIOUSNESS_FIELDS)

    @property
    def report_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.localdate() > self.report_due

    @property
    def investigation_pending(self) -> bool:
        return self.investigation_due is not None and not hasattr(self, "investigation_report")

    @property
    def investigation_overdue(self) -> bool:
        return self.investigation_pending and timezone.localdate() > self.investigation_due

    @property
    def is_overdue(self) -> bool:
        return self.report_overdue or self.investigation_overdue


class ADRInvestigationReport(ChangeTracked):
    """The investigation report a death (第二十二条) or a group event (第二十七、二十八条) requires,
    as submitted to the ADR monitoring centre. Signed on its own, so the case's report signature
    keeps verifying."""

    SIGNED_FIELDS = ("case", "submitted_at", "reference", "summary")
    SIGNED_STATE = ("submitted_by",)
    AUDIT_LABEL_FIELD = "reference"

    case = models.OneToOneField(ADRCase, on_delete=models.PROTECT, related_name="investigation_report")
    submitted_at = models.DateTimeField(_("submitted at"))
    reference = models.CharField(_("reference"), max_length=64)
    summary = models.TextField(_("summary of the investigation"))
    submitted_by = models.ForeignKey(
        "core.User", verbose_name=_("submitted by"), on_delete=models.PROTECT, related_name="+"
    )

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("ADR investigation report")
        verbose_name_plural = _("ADR investigation reports")

    def __str__(self) -> str:
        return f"{self.case.number} · {self.reference}"

    def get_absolute_url(self) -> str:
        return self.case.get_absolute_url()


def local_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in the site's time zone (deadlines count local days)."""
    return timezone.localtime(moment).date()


# --- customer quality visits (VIS-4.1.3) and the monthly ledger (AS-4.2.6) ------------------------


class VisitMethod(models.TextChoices):
    """VIS-4.1.3.1."""

    WRITTEN = "written", _("Written (letter, fax)")
    MEETING = "meeting", _("Meeting or discussion forum")
    PHONE = "phone", _("Telephone")


class VisitTarget(models.TextChoices):
    """VIS-4.1.3.2."""

    DISTRIBUTOR_HEAD = "distributor_head", _("Head of a pharmaceutical distributor")
    PHARMACY_HEAD = "pharmacy_head", _("Head of a pharmacy")
    PATIENT = "patient", _("Patient")


class VisitTopic(models.TextChoices):
    """VIS-4.1.3.3."""

    EFFICACY = "efficacy", _("Efficacy")
    SIDE_EFFECTS = "side_effects", _("Side effects")
    DOSAGE_AND_USE = "dosage_use", _("Dosage form, administration and dosage")
    PRICE = "price", _("Price")
    PACKAGING = "packaging", _("Packaging (portability, storage, use)")
    OTHER = "other", _("Other opinions or suggestions")


# VIS-4.1.3.4: 回访周期：半年.
VISIT_CYCLE_MONTHS = 6


class CustomerVisit(ChangeTracked):
    """《用户质量访问记录表及意见处理单》: a customer quality visit and the handling of each opinion,
    approved by the customer-service manager (VIS-4.1.3, R-VIS-1)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        APPROVED = "approved", _("Approved")

    TRANSITIONS = {Status.DRAFT: {Status.APPROVED}, Status.APPROVED: set()}
    EDITABLE_FIELDS = (
        "customer",
        "visited_at",
        "method",
        "target",
        "person_visited",
        "topics",
        "opinions",
        "handling",
        "satisfaction",
        "side_effect_mentioned",
        "side_effect_description",
        "side_effect_patient",
        "side_effect_product",
    )
    SIGNED_FIELDS = (
        "number",
        "customer",
        "visited_at",
        "method",
        "target",
        "topics",
        "opinions",
        "handling",
        "satisfaction",
        "side_effect_mentioned",
        "adr_feedback",
    )
    REQUIRED_SIGNATURES = {Status.APPROVED: "approved"}  # core.integrity: the status stands only with this signature
    SIGNED_STATE = (
        "status",
        "person_visited",
        "side_effect_description",
        "side_effect_patient",
        "side_effect_product",
        "recorded_by",
        "approved_by",
        "approved_at",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="visits")
    visited_at = models.DateTimeField(_("visited at"))
    method = models.CharField(_("method"), max_length=16, choices=VisitMethod.choices)
    target = models.CharField(_("visit target"), max_length=24, choices=VisitTarget.choices)
    person_visited = models.CharField(_("person visited"), max_length=100)
    topics = models.JSONField(_("topics"), default=list)
    opinions = models.TextField(_("opinions and suggestions"), blank=True)
    handling = models.TextField(
        _("handling of the opinions"), blank=True, help_text=_("Action, person responsible, result (意见处理单).")
    )
    satisfaction = models.CharField(_("satisfaction"), max_length=16, choices=Satisfaction.choices)
    side_effect_mentioned = models.BooleanField(_("a side effect was mentioned"), default=False)
    side_effect_description = models.TextField(_("side effect described"), blank=True)
    side_effect_patient = models.CharField(_("patient (initials, age, sex)"), max_length=100, blank=True)
    side_effect_product = models.ForeignKey(
        "release.Product",
        verbose_name=_("suspected drug"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # A side effect mentioned during a visit is ADR information (AS-4.2.3): it becomes an intake.
    adr_feedback = models.OneToOneField(
        Feedback, verbose_name=_("ADR intake"), on_delete=models.PROTECT, null=True, blank=True, related_name="visit"
    )
    recorded_by = models.ForeignKey(
        "core.User", verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        "core.User", verbose_name=_("approved by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("customer quality visit")
        verbose_name_plural = _("customer quality visits")
        ordering = ["-visited_at", "-pk"]
        permissions = [("approve_customervisit", _("Can approve customer quality visit records"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("aftersales:visit_detail", args=[self.pk])


class LedgerSignoff(ChangeTracked):
    """The customer-service manager's signature on a month's 市场信息反馈台帐 (AS-4.2.6, R-VIS-2).

    The figures are frozen at signing (a later correction of a feedback record does not change
    what was signed; the signature hashes the snapshot)."""

    SIGNED_FIELDS = ("year", "month", "figures")
    SIGNED_STATE = ("signed_by",)
    AUDIT_LABEL_FIELD = "month"

    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    figures = models.JSONField(_("figures"))
    signed_by = models.ForeignKey("core.User", verbose_name=_("signed by"), on_delete=models.PROTECT, related_name="+")

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("monthly feedback ledger sign-off")
        verbose_name_plural = _("monthly feedback ledger sign-offs")
        constraints = [models.UniqueConstraint(fields=["year", "month"], name="aftersales_one_ledger_per_month")]
        permissions = [("sign_ledger", _("Can sign the monthly feedback ledger"))]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    def get_absolute_url(self) -> str:
        return reverse("aftersales:ledger") + f"?month={self.year}-{self.month:02d}"


# --- distribution records (销售记录, R-SHIP-1) and returns (退货, R-RET-1) --------------------------


class TransportMode(models.TextChoices):
    OWN_VEHICLE = "own_vehicle", _("Own vehicle")
    CARRIER = "carrier", _("Contracted carrier")
    COURIER = "courier", _("Courier")
    CUSTOMER_PICKUP = "customer_pickup", _("Picked up by the customer")


class ShipmentQuerySet(AuditedQuerySet):
    def active(self) -> ShipmentQuerySet:
        return self.filter(status=Shipment.Status.SHIPPED)


class Shipment(ChangeTracked):
    """A distribution record (销售记录 / 发货记录; GMP 第二百九十五条, GSP 第九十二条, R-SHIP-1).

    What identifies the goods (generic name, strength, dosage form, batch number, expiry,
    manufacturer) and the consignee (name, address, contact) is copied from the batch and the
    customer when the shipment is recorded and never follows later edits: the record says what
    left the warehouse. Created only by ``shipment_create`` (release's gate and the customer's
    qualification asked in its transaction, R-SHIP-2/3); voided with a reason and a signature,
    never deleted (R-REC-1).
    """

    class Status(models.TextChoices):
        SHIPPED = "shipped", _("Shipped")
        VOIDED = "voided", _("Voided")

    class Purpose(models.TextChoices):
        SALE = "sale", _("Sale")
        # SMP-FY002 4.3: sales samples are distribution records too (traceable in a recall).
        SAMPLE = "sample", _("Sales sample")
        # AS-4.2.5: the company's fault in the sales chain ends in a replacement shipment.
        REPLACEMENT = "replacement", _("Replacement (complaint)")

    TRANSITIONS = {Status.SHIPPED: {Status.VOIDED}, Status.VOIDED: set()}
    EDITABLE_FIELDS = (
        "purpose",
        "batch",
        "customer",
        "quantity",
        "unit_price",
        "dispatch_date",
        "transport_mode",
        "delivery_note",
        "pickup_person",
        "complaint",
        "notes",
    )
    SIGNED_FIELDS = (
        "number",
        "status",
        "batch_number",
        "customer",
        "quantity",
        "amount",
        "dispatch_date",
        "void_reason",
    )
    # The distribution record as shipped (GMP 第二百九十五条, GSP 第九十二条): what a void signature
    # and a recall rely on, frozen at shipping.
    SIGNED_STATE = (
        "purpose",
        "batch",
        "product",
        "generic_name",
        "strength",
        "dosage_form",
        "expiry_date",
        "manufacturer",
        "unit",
        "unit_price",
        "consignee_name",
        "consignee_address",
        "consignee_contact",
        "pickup_person",
        "pickup_person_name",
        "transport_mode",
        "delivery_note",
        "complaint",
        "recorded_by",
        "voided_by",
    )
    UNSIGNED_FIELDS = {"notes": "free notes, not part of the distribution record"}
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices, default=Purpose.SALE)
    batch = models.ForeignKey("release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    # Frozen from the batch and product at shipping.
    generic_name = models.CharField(_("generic name"), max_length=200)
    strength = models.CharField(_("strength"), max_length=100)
    dosage_form = models.CharField(_("dosage form"), max_length=32)
    batch_number = models.CharField(_("batch number"), max_length=50)
    expiry_date = models.DateField(_("expiry date"))
    manufacturer = models.CharField(_("manufacturer"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit = models.CharField(_("unit"), max_length=100)
    unit_price = models.DecimalField(_("unit price (CNY)"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount (CNY)"), max_digits=16, decimal_places=2)
    customer = models.ForeignKey(Customer, verbose_name=_("consignee"), on_delete=models.PROTECT, related_name="+")
    # Frozen from the customer at shipping.
    consignee_name = models.CharField(_("consignee name"), max_length=200)
    consignee_address = models.CharField(_("consignee address"), max_length=300)
    consignee_contact = models.CharField(_("consignee contact"), max_length=200, blank=True)
    pickup_person = models.ForeignKey(
        CustomerPerson,
        verbose_name=_("authorised pick-up person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    pickup_person_name = models.CharField(_("pick-up person"), max_length=100, blank=True)
    dispatch_date = models.DateField(_("dispatch date"))
    transport_mode = models.CharField(_("transport mode"), max_length=16, choices=TransportMode.choices)
    delivery_note = models.CharField(
        _("delivery note number"), max_length=64, blank=True, help_text=_("The ERP's delivery note, if any.")
    )
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint replaced for"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replacements",
    )
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        "core.User", verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SHIPPED)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        "core.User", verbose_name=_("voided by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.TextField(_("reason for voiding"), blank=True)

    objects = ShipmentQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("distribution record")
        verbose_name_plural = _("distribution records")
        ordering = ["-dispatch_date", "-pk"]
        indexes = [
            models.Index(fields=["-dispatch_date", "-id"], name="aftersales_shipment_keyset"),
            models.Index(fields=["batch", "customer"], name="aftersales_shipment_batch"),
            models.Index(fields=["customer", "-dispatch_date"], name="aftersales_shipment_customer"),
            models.Index(fields=["product", "-dispatch_date"], name="aftersales_shipment_product"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery_note"], condition=~Q(delivery_note=""), name="aftersales_one_delivery_note"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="aftersales_shipment_quantity_positive"),
        ]
        permissions = [("void_shipment", _("Can void distribution records"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("aftersales:shipment_detail", args=[self.pk])


class ReturnChannel(models.TextChoices):
    """R-RET-1: returns of one batch from different channels are kept separate."""

    CUSTOMER = "customer", _("Customer return")
    COMPLAINT = "complaint", _("Quality complaint")
    TRANSPORT = "transport", _("Refused on delivery / transport damage")
    RECALL = "recall", _("Recall")


class StorageConditions(models.TextChoices):
    MET = "met", _("Met (documented)")
    NOT_MET = "not_met", _("Not met")
    DOUBTFUL = "doubtful", _("Doubtful / not documented")


class ReturnDecision(models.TextChoices):
    RESTOCK = "restock", _("Restock")
    DESTROY = "destroy", _("Destroy")


class GoodsReturn(ChangeTracked):
    """Returned goods (退货; GMP 第一百三十六–一百三十七、二百九十四条, R-RET-1, sop-checklists B.2.5).

    Each return is its own record, in quarantine until QA's signed evaluation decides restock or
    destroy; unmet or doubtful storage conditions never restock; destruction is recorded with its
    supervisor and signed.
    """

    class Status(models.TextChoices):
        QUARANTINE = "quarantine", _("Quarantine")
        EVALUATED = "evaluated", _("Evaluated by QA")
        RESTOCKED = "restocked", _("Restocked")
        DESTROYED = "destroyed", _("Destroyed")

    TRANSITIONS = {
        Status.QUARANTINE: {Status.EVALUATED},
        Status.EVALUATED: {Status.RESTOCKED, Status.DESTROYED},
        Status.RESTOCKED: set(),
        Status.DESTROYED: set(),
    }
    EDITABLE_FIELDS = (
        "customer",
        "batch",
        "quantity",
        "channel",
        "quality_reason",
        "reason",
        "received_on",
        "condition",
        "storage_history",
        "storage_conditions",
        "complaint",
    )
    SIGNED_FIELDS = (
        "number",
        "status",
        "batch",
        "customer",
        "quantity",
        "storage_conditions",
        "decision",
        "evaluation",
        "destroyed_on",
        "destruction_method",
        "destruction_witnesses",
    )
    # What QA's evaluation and the disposal signatures vouch for beyond the return's data.
    SIGNED_STATE = (
        "product",
        "channel",
        "quality_reason",
        "reason",
        "received_on",
        "condition",
        "storage_history",
        "complaint",
        "recorded_by",
        "evaluated_at",
        "evaluated_by",
        "completed_at",
        "completed_by",
    )
    AUDIT_LABEL_FIELD = "number"

    number = models.CharField(_("number"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("returning unit"), on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey("release.Batch", verbose_name=_("batch"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    channel = models.CharField(_("channel"), max_length=16, choices=ReturnChannel.choices)
    quality_reason = models.BooleanField(_("returned on quality grounds"), default=False)
    reason = models.TextField(_("reason for return"))
    received_on = models.DateField(_("received on"))
    condition = models.TextField(_("condition on receipt"))
    storage_history = models.TextField(_("storage and transport history"))
    storage_conditions = models.CharField(
        _("storage conditions while away"), max_length=16, choices=StorageConditions.choices
    )
    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, null=True, blank=True, related_name="returns"
    )
    recorded_by = models.ForeignKey(
        "core.User", verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(_("decision"), max_length=16, choices=ReturnDecision.choices, blank=True)
    evaluation = models.TextField(_("QA evaluation"), blank=True)
    evaluated_at = models.DateTimeField(_("evaluated at"), null=True, blank=True)
    evaluated_by = models.ForeignKey(
        "core.User", verbose_name=_("evaluated by"), on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    destroyed_on = models.DateField(_("destroyed on"), null=True, blank=True)
    destruction_method = models.CharField(_("destruction method"), max_length=200, blank=True)
    destruction_witnesses = models.CharField(_("witnesses"), max_length=300, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        "core.User",
        verbose_name=_("supervised / restocked by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUARANTINE, db_index=True
    )

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("returned goods")
        verbose_name_plural = _("returned goods")
        ordering = ["-received_on", "-pk"]
        indexes = [models.Index(fields=["batch", "customer"], name="aftersales_return_batch")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="aftersales_return_quantity_positive"),
        ]
        permissions = [
            ("evaluate_goodsreturn", _("Can evaluate returned goods")),
            ("complete_goodsreturn", _("Can record the destruction or restocking of returned goods")),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("aftersales:return_detail", args=[self.pk])
