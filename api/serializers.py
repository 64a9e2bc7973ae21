"""What the API shows and accepts. Output serializers read; input serializers check the shape of
the data only — every rule (the shipping gate, the customer's qualification, the intake rules) is
the service's, the same one the pages call."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aftersales.models import Channel, Customer, Feedback, FeedbackClass, ReporterType, Shipment, TransportMode
from aftersales.models.feedback import SalesChainProblem
from aftersales.services.intake import INTAKE_FIELDS
from core.models import Document
from release.models import Batch, BatchHold, Product, ProductHold


class ProductSerializer(serializers.ModelSerializer):
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    dosage_form_display = serializers.CharField(source="get_dosage_form_display", read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "generic_name",
            "dosage_form",
            "dosage_form_display",
            "strength",
            "pack_size",
            "approval_number",
            "shelf_life_months",
            "storage_conditions",
            "mah",
            "manufacturer",
            "requires_two_stage_release",
            "status",
            "status_display",
        ]


class HoldSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(
        choices=["batch", "product"], help_text=_("The hold is on this batch or on its whole product.")
    )
    reason = serializers.CharField()
    source = serializers.CharField(help_text=_("The record that placed the hold (a complaint, a recall…), if any."))
    placed_at = serializers.DateTimeField()
    placed_by = serializers.CharField()


def hold_row(hold: BatchHold | ProductHold, scope: str) -> dict:
    source = hold.source_text or ""
    if hold.source_type_id and hold.source_id:
        source = hold.source_label
    return {
        "scope": scope,
        "reason": hold.reason,
        "source": source,
        "placed_at": hold.placed_at,
        "placed_by": hold.placed_by.printed_name,
    }


class BatchSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    generic_name = serializers.CharField(source="product.generic_name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    released = serializers.SerializerMethodField(
        help_text=_("Released for sale (both stages for a two-stage product).")
    )
    active_holds = serializers.SerializerMethodField()

    class Meta:
        model = Batch
        fields = [
            "id",
            "product",
            "product_name",
            "generic_name",
            "batch_number",
            "batch_size",
            "batch_size_unit",
            "manufacture_date",
            "expiry_date",
            "site",
            "status",
            "status_display",
            "released",
            "active_holds",
        ]

    def get_released(self, batch: Batch) -> bool:
        return batch.status == Batch.Status.RELEASED

    @extend_schema_field(HoldSerializer(many=True))
    def get_active_holds(self, batch: Batch) -> list[dict]:
        # Prefetched by the view (``active_batch_holds`` / the product's ``active_product_holds``):
        # no query per row.
        rows = [hold_row(h, "batch") for h in batch.active_batch_holds]
        rows += [hold_row(h, "product") for h in batch.product.active_product_holds]
        return rows


class GateSerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    batch_number = serializers.CharField()
    on = serializers.DateField(help_text=_("The dispatch date asked about."))
    may_ship = serializers.BooleanField()
    reasons = serializers.ListField(
        child=serializers.CharField(), help_text=_("Every reason the batch may not ship; empty when it may.")
    )


class GateQuerySerializer(serializers.Serializer):
    on = serializers.DateField(required=False, help_text=_("Dispatch date (YYYY-MM-DD); today when left out."))


class FindingSerializer(serializers.Serializer):
    code = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class QCSummarySerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    batch_number = serializers.CharField()
    status = serializers.ChoiceField(choices=["passed", "failed", "pending"])
    ok = serializers.BooleanField()
    findings = FindingSerializer(many=True)


class DocumentSerializer(serializers.ModelSerializer):
    record_type = serializers.CharField(source="content_type.model", read_only=True)
    record_id = serializers.IntegerField(source="object_id", read_only=True)
    issued_by = serializers.CharField(source="issued_by.printed_name", read_only=True)
    superseded = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "number",
            "version",
            "title",
            "record_type",
            "record_id",
            "record_label",
            "sha256",
            "size",
            "verification_code",
            "issued_at",
            "issued_by",
            "superseded",
        ]

    def get_superseded(self, document: Document) -> bool:
        return getattr(document, "is_superseded", False)


# --- input -----------------------------------------------------------------------------------


class ShipmentRowSerializer(serializers.Serializer):
    """One distribution record, with the columns of the ERP CSV import."""

    batch_number = serializers.CharField(max_length=50)
    product = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=_("Product name, generic name or approval number: needed when two products have the batch number."),
    )
    customer = serializers.CharField(max_length=200, help_text=_("The consignee's name as in the customer file."))
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    dispatch_date = serializers.DateField()
    transport_mode = serializers.ChoiceField(choices=TransportMode.choices)
    purpose = serializers.ChoiceField(
        choices=[Shipment.Purpose.SALE, Shipment.Purpose.SAMPLE], required=False, default=Shipment.Purpose.SALE
    )
    delivery_note = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        batches = Batch.objects.filter(batch_number=attrs["batch_number"].strip()).select_related("product")
        if attrs.get("product"):
            name = attrs["product"].strip()
            batches = batches.filter(
                Q(product__name=name) | Q(product__approval_number=name) | Q(product__generic_name=name)
            )
        found = list(batches[:2])
        errors: dict[str, list[str]] = {}
        if not found:
            errors["batch_number"] = [_("No batch %(number)s on file.") % {"number": attrs["batch_number"]}]
        elif len(found) > 1:
            errors["product"] = [
                _("Batch number %(number)s is ambiguous; give the product.") % {"number": attrs["batch_number"]}
            ]
        customers = list(
            Customer.objects.filter(name=attrs["customer"].strip()).exclude(status=Customer.Status.VOIDED)[:2]
        )
        if len(customers) != 1:
            errors["customer"] = [_("No single customer named %(name)s on file.") % {"name": attrs["customer"]}]
        if errors:
            raise serializers.ValidationError(errors)
        data = {k: v for k, v in attrs.items() if k not in ("batch_number", "product", "customer")}
        data.update(batch=found[0], customer=customers[0], pickup_person=None, complaint=None)
        return data


class ShipmentPostSerializer(serializers.Serializer):
    shipments = ShipmentRowSerializer(many=True, allow_empty=False, max_length=500)
    import_good_rows = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_("false (default): one refused row and nothing is recorded. true: the good rows are recorded."),
    )


class ShipmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Shipment
        fields = [
            "id",
            "number",
            "purpose",
            "status",
            "batch",
            "batch_number",
            "generic_name",
            "strength",
            "dosage_form",
            "expiry_date",
            "manufacturer",
            "quantity",
            "unit",
            "unit_price",
            "amount",
            "customer",
            "consignee_name",
            "consignee_address",
            "dispatch_date",
            "transport_mode",
            "delivery_note",
        ]


class ShipmentResultSerializer(serializers.Serializer):
    created = ShipmentSerializer(many=True)
    refused_rows = serializers.ListField(child=serializers.IntegerField())


class FeedbackInputSerializer(serializers.ModelSerializer):
    """The intake form's fields (``aftersales.services.intake.INTAKE_FIELDS``)."""

    channel = serializers.ChoiceField(choices=Channel.choices)
    reporter_type = serializers.ChoiceField(choices=ReporterType.choices)
    classification = serializers.ChoiceField(choices=FeedbackClass.choices)
    sales_chain_problem = serializers.ChoiceField(choices=SalesChainProblem.choices, required=False, allow_blank=True)
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.exclude(status=Customer.Status.VOIDED), required=False, allow_null=True
    )
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.active(), required=False, allow_null=True)
    batch = serializers.PrimaryKeyRelatedField(
        queryset=Batch.objects.exclude(status=Batch.Status.VOIDED), required=False, allow_null=True
    )

    class Meta:
        model = Feedback
        fields = list(INTAKE_FIELDS)  # what the intake form takes: one list, in the service


class FeedbackSerializer(serializers.ModelSerializer):
    complaint = serializers.SerializerMethodField()
    adr_case = serializers.SerializerMethodField()

    class Meta:
        model = Feedback
        fields = [
            "id",
            "number",
            "received_at",
            "classification",
            "status",
            "first_response_due",
            "complaint",
            "adr_case",
        ]

    def get_complaint(self, feedback: Feedback) -> str | None:
        complaint = getattr(feedback, "complaint", None)
        return complaint.number if complaint is not None else None

    def get_adr_case(self, feedback: Feedback) -> str | None:
        case = getattr(feedback, "adr_case", None)
        return case.number if case is not None else None


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()
    row = serializers.IntegerField(required=False)


class ErrorSerializer(serializers.Serializer):
    errors = ErrorItemSerializer(many=True)


def paged(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The shape of a cursor page of ``item`` (``next`` / ``previous`` links, ``results``)."""
    return type(
        f"Paginated{item.__name__.removesuffix('Serializer')}List",
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
