"""aftersales models: feedback intake (市场信息反馈记录, B.2.2)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftersales.models.customers import Customer
from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link

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
        return link("aftersales:feedback_detail", self.pk)

    @property
    def response_overdue(self) -> bool:
        return self.status == self.Status.OPEN and timezone.now() > self.first_response_due

    @property
    def responded_late(self) -> bool:
        return self.reply_at is not None and self.reply_at > self.first_response_due
