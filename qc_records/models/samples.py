"""Samples received by QC (检品)."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.audit import AuditedQuerySet, audited_history
from core.links import link
from qc_records.models.base import Category, Tracked
from qc_records.models.specifications import Specification


class SampleQuerySet(AuditedQuerySet):
    def awaiting_test(self) -> SampleQuerySet:
        """Samples with no test record yet (or only voided ones): the stored ``test_state``, which the
        record services keep (issue 12: computing it against the records table read every sample)."""
        return self.filter(voided_at__isnull=True, test_state=Sample.TestState.WAITING)


class Sample(Tracked):
    """What is tested: a finished-product batch, an intermediate, a material lot, water or an
    environmental monitoring point — with quantity, source and the date it was received."""

    class TestState(models.TextChoices):
        """Whether the sample has a live (not voided) test record. Stored, so that "waiting" — the
        analyst's queue, the QC overview, the sample list's filter — is an index, not a scan of
        every sample against the records table. Kept by the services that start and void records
        (``qc_records.services.samples.store_test_state``); a sample whose record is voided waits
        again for the record that replaces it."""

        WAITING = "waiting", _("Waiting for a test record")
        STARTED = "started", _("Test record started")

    SIGNED_FIELDS = (
        "number",
        "category",
        "specification",
        "product",
        "batch",
        "material_name",
        "lot_number",
        "strength",
        "quantity",
        "quantity_unit",
        "supplier",
        "manufacturer",
        "sampling_point",
        "received_date",
    )
    UNSIGNED_FIELDS = {
        "condition_on_receipt": "observed at receipt; corrections carry a reason in the audit trail",
        "test_state": "a stored index of whether a live test record exists (kept by record_create / record_void, "
        "each change a step in the audit trail); the records themselves are signed",
    }
    EDITABLE_FIELDS = (
        "category",
        "specification",
        "product",
        "batch",
        "material_name",
        "lot_number",
        "strength",
        "quantity",
        "quantity_unit",
        "supplier",
        "manufacturer",
        "sampling_point",
        "received_date",
        "condition_on_receipt",
    )
    AUDIT_LABEL_FIELD = "number"

    LABEL_RELATED = ("product",)  # what __str__ reads: read with it where the audit trail names it

    number = models.CharField(_("sample number"), max_length=32, unique=True, editable=False)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices, db_index=True)
    specification = models.ForeignKey(
        Specification,
        verbose_name=_("specification"),
        on_delete=models.PROTECT,
        related_name="samples",
        help_text=_("The approved specification it is tested against (the version in force is used)."),
    )
    product = models.ForeignKey(
        "release.Product", verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    batch = models.ForeignKey(
        "release.Batch",
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="qc_samples",
        help_text=_("For finished products: the batch sampled."),
    )
    material_name = models.CharField(_("material / subject"), max_length=200, blank=True)
    lot_number = models.CharField(
        _("batch / lot number"), max_length=100, blank=True, help_text=_("Batch number, or the supplier's lot.")
    )
    strength = models.CharField(_("strength"), max_length=100, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=3, validators=[MinValueValidator(0)])
    quantity_unit = models.CharField(_("unit"), max_length=20, help_text=_("e.g. 粒, g, ml, 个"))
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=200, blank=True)
    sampling_point = models.CharField(
        _("sampling point"),
        max_length=200,
        blank=True,
        help_text=_("For water and environmental monitoring, e.g. 纯化水总回水口."),
    )
    received_date = models.DateField(_("received on"), db_index=True)
    condition_on_receipt = models.CharField(
        _("condition on receipt"), max_length=200, blank=True, help_text=_("封装情况")
    )

    test_state = models.CharField(
        _("test state"), max_length=16, choices=TestState.choices, default=TestState.WAITING, editable=False
    )

    objects = SampleQuerySet.as_manager()
    history = audited_history()

    class Meta(Tracked.Meta):
        verbose_name = _("sample")
        verbose_name_plural = _("samples")
        ordering = ["-received_date", "-pk"]
        indexes = [
            # The waiting samples, oldest first (My work) or newest first (the sample list): a few
            # hundred entries whatever the number of samples tested over the years.
            models.Index(
                fields=["received_date", "id"],
                condition=Q(test_state="waiting", voided_at__isnull=True),
                name="qc_sample_waiting",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(category="finished_product") | Q(batch__isnull=False),
                name="qc_sample_batch_for_finished_product",
                violation_error_message=_("A finished-product sample names the batch sampled."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject_name} {self.lot_number}".strip()

    def get_absolute_url(self) -> str:
        return link("qc_records:sample_detail", self.pk)

    @property
    def subject_name(self) -> str:
        if self.product_id:
            return self.product.name
        return self.material_name
