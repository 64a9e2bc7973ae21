"""OOS investigations (检验结果超标调查)."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, audited_history
from core.links import link
from qc_records.models.base import Tracked
from qc_records.models.records import TestRecord
from qc_records.models.specifications import SpecificationItem


class OOSQuerySet(AuditedQuerySet):
    def open(self) -> OOSQuerySet:
        return self.exclude(status=OOSInvestigation.Status.CLOSED)


class OOSInvestigation(Tracked):
    """An out-of-specification investigation, opened automatically when a failing result is
    recorded. Phase I (laboratory: is there an assignable cause?) → phase II (full investigation)
    → closed by QA with a signature approving the conclusion (laboratory error or confirmed).
    While open, the batch cannot be released (R-QC-5)."""

    class Status(models.TextChoices):
        PHASE_1 = "phase_1", _("Phase I — laboratory investigation")
        PHASE_2 = "phase_2", _("Phase II — full investigation")
        CLOSED = "closed", _("Closed")

    class Outcome(models.TextChoices):
        NONE = "", _("Not concluded")
        LAB_ERROR = "lab_error", _("Laboratory error — result invalidated, retest")
        CONFIRMED = "confirmed", _("OOS confirmed — batch fails")

    TRANSITIONS = {
        Status.PHASE_1: {Status.PHASE_2, Status.CLOSED},
        Status.PHASE_2: {Status.CLOSED},
        Status.CLOSED: set(),
    }
    SIGNED_FIELDS = (
        "number",
        "record",
        "item",
        "phase1_findings",
        "assignable_cause",
        "phase2_findings",
        "outcome",
        "summary",
    )
    SIGNED_STATE = ("status", "closed_by", "closed_at", "phase2_started_at")
    EDITABLE_FIELDS = ("phase1_findings", "assignable_cause", "phase2_findings")
    AUDIT_LABEL_FIELD = "number"
    REQUIRED_SIGNATURES = {Status.CLOSED: "closed"}  # core.integrity

    number = models.CharField(_("OOS number"), max_length=20, unique=True, editable=False)
    record = models.ForeignKey(
        TestRecord, verbose_name=_("test record"), on_delete=models.PROTECT, related_name="oos_investigations"
    )
    item = models.ForeignKey(SpecificationItem, verbose_name=_("test item"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PHASE_1, db_index=True)
    phase1_findings = models.TextField(
        _("phase I findings"),
        blank=True,
        help_text=_("Laboratory check: calculations, instrument, standards, solutions, analyst's technique."),
    )
    assignable_cause = models.BooleanField(_("assignable laboratory cause found"), null=True, blank=True)
    phase2_findings = models.TextField(
        _("phase II findings"),
        blank=True,
        help_text=_("Production and process review, additional testing, root cause, CAPA."),
    )
    outcome = models.CharField(_("conclusion"), max_length=16, choices=Outcome.choices, blank=True, default="")
    summary = models.TextField(_("conclusion and justification"), blank=True)
    closed_by = models.ForeignKey(
        "core.User",
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    phase2_started_at = models.DateTimeField(_("phase II started at"), null=True, blank=True, editable=False)

    objects = OOSQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("OOS investigation")
        verbose_name_plural = _("OOS investigations")
        ordering = ["-created_at", "-pk"]
        permissions = [("close_oosinvestigation", _("Can close OOS investigations"))]
        # My work's open-OOS queue (oldest first, 20 at a time): open ones only, in queue order.
        indexes = [
            models.Index(fields=["created_at", "id"], condition=~Q(status="closed"), name="qc_records_oos_open_queue")
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return link("qc_records:oos_detail", self.pk)

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @property
    def due_date(self) -> date | None:
        """When the current phase must be finished (settings QC_OOS_PHASE_1_DAYS / _2_DAYS, R-QC-5)."""
        if self.status == self.Status.PHASE_1 and self.created_at:
            return timezone.localdate(self.created_at) + timedelta(days=settings.QC_OOS_PHASE_1_DAYS)
        if self.status == self.Status.PHASE_2:
            start = self.phase2_started_at or self.created_at
            return timezone.localdate(start) + timedelta(days=settings.QC_OOS_PHASE_2_DAYS)
        return None

    @property
    def is_overdue(self) -> bool:
        due = self.due_date
        return due is not None and timezone.localdate() > due
