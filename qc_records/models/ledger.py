"""The monthly archive of the QC ledger (归档)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, audited_history
from qc_records.models.base import Category, Tracked


class LedgerArchive(Tracked):
    """A month of one category's records archived (检验原始记录管理规程 4.3.2: archived monthly).

    While archived, the month's records are locked; reopening needs a QC head signature and a
    reason, and the month can be archived again.
    """

    class Status(models.TextChoices):
        ARCHIVED = "archived", _("Archived")
        REOPENED = "reopened", _("Reopened")

    TRANSITIONS = {
        Status.ARCHIVED: {Status.REOPENED},
        Status.REOPENED: {Status.ARCHIVED},
    }
    SIGNED_FIELDS = ("year", "month", "category")
    SIGNED_STATE = ("status", "record_count")
    AUDIT_LABEL_FIELD = "category"

    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"), validators=[MinValueValidator(1), MaxValueValidator(12)])
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ARCHIVED)
    record_count = models.PositiveIntegerField(_("records archived"), default=0)

    objects = AuditedQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("monthly archive")
        verbose_name_plural = _("monthly archives")
        ordering = ["-year", "-month", "category"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month", "category"], name="qc_archive_month_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d} {self.get_category_display()}"
