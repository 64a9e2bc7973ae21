"""release models: deviations and change controls (偏差, 变更)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link
from release.models.batches import Batch

# --- deviations and change controls (偏差, 变更) ---------------------------------------------------------


class EventClass(models.TextChoices):
    MINOR = "minor", _("Minor")
    MAJOR = "major", _("Major")
    CRITICAL = "critical", _("Critical")


class QualityEventQuerySet(AuditedQuerySet):
    def open(self) -> QualityEventQuerySet:
        return self.filter(status=QualityEvent.Status.OPEN)

    def affecting(self, batch: Batch | int) -> QualityEventQuerySet:
        return self.filter(batches=batch)


class QualityEvent(ChangeTracked):
    """What deviations (偏差) and change controls (变更控制) share: enough to block a release and to be
    cited on the certificate (light; full CAPA is later work). Open → closed with QA's signature."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    TRANSITIONS = {Status.OPEN: {Status.CLOSED}, Status.CLOSED: set()}
    EDITABLE_FIELDS = ("title", "description", "classification", "investigation", "conclusion")
    # ``batch_ids``: the batches affected, frozen as a sorted list of ids so the closure signature
    # covers them (a many-to-many cannot be hashed from the row itself).
    SIGNED_FIELDS = (
        "number",
        "title",
        "description",
        "classification",
        "batch_ids",
        "investigation",
        "conclusion",
        "status",
        "raised_by",
        "raised_at",
        "closed_by",
        "closed_at",
    )
    AUDIT_LABEL_FIELD = "number"
    NUMBER_SERIES = ""

    number = models.CharField(_("number"), max_length=32, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    classification = models.CharField(_("classification"), max_length=16, choices=EventClass.choices)
    batch_ids = models.JSONField(_("batches affected (ids)"), default=list, editable=False)
    investigation = models.TextField(
        _("investigation (including other batches)"),
        blank=True,
        help_text=_("Root cause, impact on quality, and whether other batches are affected."),
    )
    conclusion = models.TextField(_("conclusion"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    raised_by = models.ForeignKey("core.User", verbose_name=_("raised by"), on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    closed_by = models.ForeignKey(
        "core.User", verbose_name=_("closed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = QualityEventQuerySet.as_manager()

    class Meta(AuditedModel.Meta):
        abstract = True
        ordering = ["-raised_at", "-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Deviation(QualityEvent):
    NUMBER_SERIES = "DEV"
    UNSIGNED_FIELDS = {
        "oos": "a cross-reference to the OOS investigation the deviation was raised for, set while the deviation "
        "is open through release.services (audit trail with reason); adding it to the signed fields would break "
        "every closure signed before the link existed",
    }
    batches = models.ManyToManyField(Batch, verbose_name=_("batches affected"), related_name="deviations", blank=True)
    # Release points down to QC (allowed: release → qc_records); the OOS page reads the link back
    # through the reverse relation ``oos.deviations`` without importing release (DESIGN.md).
    oos = models.ForeignKey(
        "qc_records.OOSInvestigation",
        verbose_name=_("OOS investigation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deviations",
        editable=False,
    )
    history = audited_history()

    class Meta(QualityEvent.Meta):
        verbose_name = _("deviation")
        verbose_name_plural = _("deviations")
        permissions = [("close_deviation", _("Can close deviations (QA, signed)"))]

    def get_absolute_url(self) -> str:
        return link("release:deviation_detail", self.pk)


class ChangeControl(QualityEvent):
    NUMBER_SERIES = "CC"
    batches = models.ManyToManyField(
        Batch, verbose_name=_("batches affected"), related_name="change_controls", blank=True
    )
    history = audited_history()

    class Meta(QualityEvent.Meta):
        verbose_name = _("change control")
        verbose_name_plural = _("change controls")
        permissions = [("close_changecontrol", _("Can close change controls (QA, signed)"))]

    def get_absolute_url(self) -> str:
        return link("release:changecontrol_detail", self.pk)
