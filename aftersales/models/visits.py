"""aftersales models: customer quality visits (VIS-4.1.3) and the monthly ledger (AS-4.2.6)."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from aftersales.models.customers import Customer
from aftersales.models.feedback import Feedback, Satisfaction
from core.audit import AuditedModel, ChangeTracked, audited_history
from core.links import link

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
        # The list's order, read from the index for the page shown (not every visit joined and sorted).
        indexes = [models.Index(fields=["-visited_at", "-id"], name="aftersales_visit_recent")]
        permissions = [("approve_customervisit", _("Can approve customer quality visit records"))]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("aftersales:visit_detail", self.pk)


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
