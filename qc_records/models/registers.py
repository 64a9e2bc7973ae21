"""The instrument register and the reagent / reference standard register (仪器、量具、试剂、对照品)."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, audited_history
from core.links import link
from qc_records.models.base import Tracked


class InstrumentQuerySet(AuditedQuerySet):
    def due_within(self, days: int, today: date | None = None) -> InstrumentQuerySet:
        today = today or timezone.localdate()
        return self.filter(
            status=Instrument.Status.IN_SERVICE,
            calibration_due__gte=today,
            calibration_due__lte=today + timedelta(days=days),
        )

    def calibration_expired(self, today: date | None = None) -> InstrumentQuerySet:
        today = today or timezone.localdate()
        return self.filter(calibration_due__lt=today).exclude(status=Instrument.Status.RETIRED)


class Instrument(Tracked):
    """An instrument or item of volumetric glassware with its calibration due date."""

    class Kind(models.TextChoices):
        INSTRUMENT = "instrument", _("Instrument")
        GLASSWARE = "glassware", _("Volumetric glassware")

    class Status(models.TextChoices):
        IN_SERVICE = "in_service", _("In service")
        OUT_OF_SERVICE = "out_of_service", _("Out of service")
        RETIRED = "retired", _("Retired")

    TRANSITIONS = {
        Status.IN_SERVICE: {Status.OUT_OF_SERVICE, Status.RETIRED},
        Status.OUT_OF_SERVICE: {Status.IN_SERVICE, Status.RETIRED},
        Status.RETIRED: set(),
    }
    EDITABLE_FIELDS = ("code", "name", "model", "kind", "location", "last_calibrated", "calibration_due", "status")
    AUDIT_LABEL_FIELD = "code"

    code = models.CharField(_("instrument ID"), max_length=50, unique=True, help_text=_("e.g. QC-HPLC-01"))
    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. 高效液相色谱仪"))
    model = models.CharField(_("model"), max_length=100, help_text=_("e.g. Agilent 1260 Infinity II"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.INSTRUMENT)
    location = models.CharField(_("location"), max_length=200)
    last_calibrated = models.DateField(_("last calibrated"), null=True, blank=True)
    calibration_due = models.DateField(_("calibration due"), db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.IN_SERVICE, db_index=True
    )

    objects = InstrumentQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name} ({self.model})"

    def get_absolute_url(self) -> str:
        return link("qc_records:instrument_detail", self.pk)

    def unusable_reason(self, on: date) -> str:
        """Why this instrument may not be used for a test on ``on`` ("" when it may; R-QC-3)."""
        if self.status != self.Status.IN_SERVICE:
            return gettext("Instrument %(code)s (%(model)s) is %(status)s and cannot be used.") % {
                "code": self.code,
                "model": self.model,
                "status": self.get_status_display().lower(),
            }
        if self.calibration_due < on:
            return gettext(
                "Instrument %(code)s (%(model)s) is past its calibration due date (%(due)s) and cannot be used for a test on %(on)s."
            ) % {"code": self.code, "model": self.model, "due": self.calibration_due.isoformat(), "on": on.isoformat()}
        return ""


class ReagentQuerySet(AuditedQuerySet):
    def expiring_within(self, days: int, today: date | None = None) -> ReagentQuerySet:
        today = today or timezone.localdate()
        return self.filter(
            status=Reagent.Status.IN_USE, expiry_date__gte=today, expiry_date__lte=today + timedelta(days=days)
        )

    def expired(self, today: date | None = None) -> ReagentQuerySet:
        today = today or timezone.localdate()
        return self.filter(status=Reagent.Status.IN_USE, expiry_date__lt=today)


class Reagent(Tracked):
    """A reagent, test solution, titrant, culture medium or reference standard lot."""

    class Kind(models.TextChoices):
        REAGENT = "reagent", _("Reagent")
        TEST_SOLUTION = "test_solution", _("Test solution")
        TITRANT = "titrant", _("Titrant (volumetric solution)")
        CULTURE_MEDIUM = "culture_medium", _("Culture medium")
        REFERENCE_STANDARD = "reference_standard", _("Reference standard")

    class Status(models.TextChoices):
        IN_USE = "in_use", _("In use")
        USED_UP = "used_up", _("Used up")
        DISCARDED = "discarded", _("Discarded")

    TRANSITIONS = {
        Status.IN_USE: {Status.USED_UP, Status.DISCARDED},
        Status.USED_UP: set(),
        Status.DISCARDED: set(),
    }
    EDITABLE_FIELDS = (
        "kind",
        "name",
        "lot_number",
        "source",
        "concentration",
        "received_date",
        "expiry_date",
        "status",
    )
    AUDIT_LABEL_FIELD = "name"

    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200, help_text=_("e.g. 阿莫西林对照品, 氢氧化钠滴定液"))
    lot_number = models.CharField(
        _("lot / preparation number"),
        max_length=100,
        help_text=_("Supplier lot, or the in-house preparation number (配制批号)."),
    )
    source = models.CharField(
        _("source"),
        max_length=200,
        help_text=_("Supplier (e.g. 中国食品药品检定研究院) or “prepared in-house” with the SOP."),
    )
    concentration = models.CharField(
        _("concentration / content"), max_length=100, blank=True, help_text=_("e.g. 0.1 mol/L, F=1.002; or 99.6%")
    )
    received_date = models.DateField(_("received / prepared on"))
    expiry_date = models.DateField(_("expiry date"), db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.IN_USE, db_index=True)

    objects = ReagentQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("reagent or reference standard")
        verbose_name_plural = _("reagents and reference standards")
        ordering = ["name", "-received_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "name", "lot_number"],
                name="qc_reagent_lot_unique",
                violation_error_message=_("This lot is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(expiry_date__gte=F("received_date")),
                name="qc_reagent_expiry_after_receipt",
                violation_error_message=_("The expiry date is before the date received / prepared."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.lot_number})"

    def get_absolute_url(self) -> str:
        return link("qc_records:reagent_detail", self.pk)

    def unusable_reason(self, on: date) -> str:
        if self.status != self.Status.IN_USE:
            return gettext("%(kind)s %(name)s, lot %(lot)s, is %(status)s and cannot be used.") % {
                "kind": self.get_kind_display(),
                "name": self.name,
                "lot": self.lot_number,
                "status": self.get_status_display().lower(),
            }
        if self.expiry_date < on:
            return gettext(
                "%(kind)s %(name)s, lot %(lot)s, expired on %(expiry)s and cannot be used for a test on %(on)s."
            ) % {
                "kind": self.get_kind_display(),
                "name": self.name,
                "lot": self.lot_number,
                "expiry": self.expiry_date.isoformat(),
                "on": on.isoformat(),
            }
        if self.received_date > on:
            return gettext(
                "%(kind)s %(name)s, lot %(lot)s, was received / prepared on %(received)s, after the test date %(on)s."
            ) % {
                "kind": self.get_kind_display(),
                "name": self.name,
                "lot": self.lot_number,
                "received": self.received_date.isoformat(),
                "on": on.isoformat(),
            }
        return ""
