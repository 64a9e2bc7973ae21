"""aftersales models: distribution records (销售记录, R-SHIP-1) and returns (退货, R-RET-1)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aftersales.models.complaints import Complaint
from aftersales.models.customers import Customer, CustomerPerson
from core.audit import AuditedModel, AuditedQuerySet, ChangeTracked, audited_history
from core.links import link

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
            # The list's batch-number filter (typed, exact): the number as printed on the record.
            models.Index(fields=["batch_number", "-dispatch_date", "-id"], name="aftersales_shipment_batchno"),
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
        return link("aftersales:shipment_detail", self.pk)


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


class GoodsReturnQuerySet(AuditedQuerySet):
    def awaiting_evaluation(self) -> GoodsReturnQuerySet:
        """In quarantine: QA's signed evaluation (restock or destroy) is next (R-RET-1)."""
        return self.filter(status=GoodsReturn.Status.QUARANTINE)

    def awaiting_disposal(self) -> GoodsReturnQuerySet:
        """Evaluated: the signed destruction or restocking is next."""
        return self.filter(status=GoodsReturn.Status.EVALUATED)


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
    objects = GoodsReturnQuerySet.as_manager()

    class Meta(AuditedModel.Meta):
        verbose_name = _("returned goods")
        verbose_name_plural = _("returned goods")
        ordering = ["-received_on", "-pk"]
        indexes = [
            models.Index(fields=["batch", "customer"], name="aftersales_return_batch"),
            # QA's queue of returns in quarantine, oldest first (My work, the list's status filter).
            models.Index(fields=["status", "received_on", "id"], name="aftersales_return_status_queue"),
        ]
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
        return link("aftersales:return_detail", self.pk)
