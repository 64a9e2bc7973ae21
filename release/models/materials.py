"""release models: material lots, bills of materials, material balance (R-MAT-1, R-REL-8; ZL-086 4.2.2, 4.2.8, 4.3.2.7)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link
from release.models.batches import Batch

# --- material lots, bills of materials, material balance (R-MAT-1, R-REL-8; ZL-086 4.2.2, 4.2.8, 4.3.2.7) ---


class MaterialUnit(models.TextChoices):
    KG = "kg", _("kg")
    G = "g", _("g")
    L = "L", _("L")
    ML = "mL", _("mL")
    PIECES = "pieces", _("pieces")


class MaterialLotQuerySet(AuditedQuerySet):
    def awaiting_release(self) -> MaterialLotQuerySet:
        return self.filter(status=MaterialLot.Status.QUARANTINE)

    def not_registered_by(self, user) -> MaterialLotQuerySet:
        """Lots ``user`` did not register (R-SEQ-2: the person who registered a lot does not release it)."""
        return self.exclude(registered_by=user)


class MaterialLot(ChangeTracked):
    """An incoming lot of a starting or packaging material (物料批). Quarantined (待验) on receipt
    until QA releases or rejects it with a signature (R-MAT-1, GMP 第二百二十九条)."""

    class Status(models.TextChoices):
        QUARANTINE = "quarantine", _("Quarantine")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", pgettext_lazy("material lot", "Rejected")
        VOIDED = "voided", _("Voided")

    TRANSITIONS = {
        Status.QUARANTINE: {Status.RELEASED, Status.REJECTED, Status.VOIDED},
        # Final: a rejected lot is never released (it is destroyed or returned); a released lot
        # found defective is handled by a deviation, not un-released.
        Status.RELEASED: set(),
        Status.REJECTED: set(),
        Status.VOIDED: set(),
    }
    EDITABLE_FIELDS = (
        "material_name",
        "material_code",
        "supplier",
        "supplier_lot",
        "lot_number",
        "received_date",
        "quantity",
        "unit",
        "expiry_date",
        "qc_record",
    )
    SIGNED_FIELDS = EDITABLE_FIELDS + ("status", "registered_by", "decided_by", "decided_at", "decision_reason")
    REQUIRED_SIGNATURES = {Status.RELEASED: "released", Status.REJECTED: "rejected"}
    AUDIT_LABEL_FIELD = "lot_number"

    material_name = models.CharField(_("material name"), max_length=200)
    material_code = models.CharField(_("material code"), max_length=50)
    supplier = models.CharField(_("supplier"), max_length=200)
    supplier_lot = models.CharField(_("supplier's lot number"), max_length=64)
    lot_number = models.CharField(_("our lot number"), max_length=64, unique=True)
    received_date = models.DateField(_("received on"))
    quantity = models.DecimalField(_("quantity received"), max_digits=14, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=16, choices=MaterialUnit.choices)
    expiry_date = models.DateField(_("expiry or retest date"))
    qc_record = models.ForeignKey(
        "qc_records.TestRecord",
        verbose_name=_("QC test record"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUARANTINE, db_index=True
    )
    registered_by = models.ForeignKey(
        "core.User", verbose_name=_("registered by"), on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        "core.User",
        verbose_name=_("released or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("released or rejected at"), null=True, blank=True)
    decision_reason = models.TextField(_("QA's comment or reason"), blank=True)

    objects = MaterialLotQuerySet.as_manager()
    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("material lot")
        verbose_name_plural = _("material lots")
        ordering = ["-received_date", "-id"]
        # The list's order, newest received first: read from the index instead of sorting the
        # plant's 20,000 lots on every page (15 ms at scale 1.0, issue 12).
        indexes = [models.Index(fields=["received_date", "id"], name="release_lot_received")]
        constraints = [
            models.UniqueConstraint(Upper("lot_number"), name="release_material_lot_number_ci_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="release_material_lot_quantity_positive"),
        ]
        permissions = [
            ("release_materiallot", _("Can release or reject material lots (QA, signed)")),
            ("void_materiallot", _("Can void material lots")),
        ]

    def __str__(self) -> str:
        return f"{self.lot_number} {self.material_name}"

    def get_absolute_url(self) -> str:
        return link("release:materiallot_detail", self.pk)


class BatchMaterial(ChangeTracked):
    """One line of a batch's bill of materials: the lot used and how much (ZL-086 4.2.2, 4.3.2.7)."""

    AUDIT_LABEL_FIELD = "lot"

    LABEL_RELATED = ("lot",)  # what __str__ reads: read with it where the audit trail names it

    batch = models.ForeignKey(Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="materials")
    lot = models.ForeignKey(
        MaterialLot, verbose_name=_("material lot"), on_delete=models.PROTECT, related_name="used_in"
    )
    quantity = models.DecimalField(_("quantity used"), max_digits=14, decimal_places=3)

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("material used")
        verbose_name_plural = _("materials used")
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "lot"], name="release_batch_material_lot_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="release_batch_material_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.lot.lot_number if self.lot_id else '—'}"


class MaterialBalance(ChangeTracked):
    """The material balance (物料平衡) of one process step of a batch (R-REL-8, ZL-086 4.2.8).

    The percentage is computed by the system (``release.balance``) with a fixed formula whose
    version is stored on the row, against the product's limits copied onto the row when entered.
    """

    EDITABLE_FIELDS = ("step", "theoretical", "actual", "samples", "waste", "unit")
    AUDIT_LABEL_FIELD = "step"

    batch = models.ForeignKey(
        Batch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="material_balances"
    )
    step = models.CharField(_("process step"), max_length=100)
    theoretical = models.DecimalField(_("theoretical quantity"), max_digits=14, decimal_places=3)
    actual = models.DecimalField(_("actual quantity"), max_digits=14, decimal_places=3)
    samples = models.DecimalField(_("samples taken"), max_digits=14, decimal_places=3, default=0)
    waste = models.DecimalField(_("collected waste"), max_digits=14, decimal_places=3, default=0)
    unit = models.CharField(_("unit"), max_length=16, choices=MaterialUnit.choices)
    percent = models.DecimalField(_("material balance (%)"), max_digits=7, decimal_places=2)
    formula_version = models.PositiveSmallIntegerField(_("formula version"))
    lower_limit = models.DecimalField(_("lower limit (%)"), max_digits=5, decimal_places=2)
    upper_limit = models.DecimalField(_("upper limit (%)"), max_digits=5, decimal_places=2)
    within_limits = models.BooleanField(_("within limits"))

    history = audited_history()

    class Meta(AuditedModel.Meta):
        verbose_name = _("material balance")
        verbose_name_plural = _("material balances")
        ordering = ["batch", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(theoretical__gt=0), name="release_balance_theoretical_positive"),
            models.CheckConstraint(
                condition=Q(actual__gte=0, samples__gte=0, waste__gte=0), name="release_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.percent}%"
