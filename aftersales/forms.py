"""Input validation for the after-sales pages (rules live in the services; these check shapes)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from aftersales.models import (
    ADRCase,
    ApprovalRole,
    Complaint,
    Customer,
    CustomerLicence,
    CustomerPerson,
    CustomerType,
    CustomerVisit,
    Feedback,
    FeedbackClass,
    GoodsReturn,
    Responsibility,
    ReturnDecision,
    Shipment,
    TransportMode,
    VisitTopic,
)
from aftersales.services.intake import INTAKE_FIELDS
from core.concurrency import VersionedFormMixin
from core.forms import Form, ModelForm, SignatureForm, reason_field
from core.models import User
from release.models import Batch, DosageForm, Product

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CustomerForm(ModelForm):
    class Meta:
        model = Customer
        fields = list(Customer.EDITABLE_FIELDS)
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class CustomerEditForm(VersionedFormMixin, CustomerForm):
    reason = reason_field()


class CustomerFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + Customer.Status.choices)
    customer_type = forms.ChoiceField(
        label=_("Customer type"), required=False, choices=[("", _("All"))] + CustomerType.choices
    )


class LicenceScanForm(Form):
    file = forms.FileField(
        label=_("Scan of the sealed copy (PDF, PNG or JPEG)"),
        help_text=_("Its SHA-256 is taken on upload and checked whenever the scan is shown."),
    )


class LicenceForm(ModelForm):
    scope_dosage_forms = forms.MultipleChoiceField(
        label=_("Dosage forms covered"),
        required=False,
        choices=DosageForm.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The dosage forms the licence's business scope covers (GSP-5.3.3)."),
    )

    class Meta:
        model = CustomerLicence
        fields = list(CustomerLicence.EDITABLE_FIELDS)
        widgets = {"valid_from": DATE, "valid_to": DATE, "scope": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        data = super().clean()
        start, end = data.get("valid_from"), data.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", _("The licence cannot end before it starts."))
        return data


class PersonForm(ModelForm):
    class Meta:
        model = CustomerPerson
        fields = list(CustomerPerson.EDITABLE_FIELDS)
        widgets = {"authorised_until": DATE}


class CustomerApproveSignForm(SignatureForm):
    role = forms.ChoiceField(label=_("Approving for"), choices=ApprovalRole.choices)
    field_order = ["role", "password", "comment"]

    def __init__(self, *args, roles: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = [(r, ApprovalRole(r).label) for r in roles]


class FeedbackForm(ModelForm):
    class Meta:
        model = Feedback
        fields = list(INTAKE_FIELDS)
        widgets = {"received_at": DATETIME, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.exclude(status=Customer.Status.VOIDED).order_by("name")
        self.fields["product"].queryset = Product.objects.active().order_by("name")
        self.fields["batch"].queryset = Batch.objects.exclude(status=Batch.Status.VOIDED).select_related("product")


class FeedbackFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False)
    classification = forms.ChoiceField(
        label=_("Classification"), required=False, choices=[("", _("All"))] + FeedbackClass.choices
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + Feedback.Status.choices)


class FeedbackReplyForm(ModelForm):
    class Meta:
        model = Feedback
        fields = ["reply_at", "reply_method", "reply_content"]
        widgets = {"reply_at": DATETIME, "reply_content": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].required = True


class FeedbackCloseForm(ModelForm):
    class Meta:
        model = Feedback
        fields = ["result", "satisfaction"]
        widgets = {"result": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].required = True


def qa_reviewers():
    return (
        User.objects.filter(is_active=True, groups__permissions__codename="change_complaint")
        .distinct()
        .order_by("full_name", "username")
    )


class ComplaintTriageForm(Form):
    triage = forms.ChoiceField(label=_("Triage"), choices=Complaint.Triage.choices)
    assigned_to = forms.ModelChoiceField(label=_("Investigator (QA)"), queryset=User.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = qa_reviewers()
        self.fields["assigned_to"].label_from_instance = lambda u: u.printed_name


class ComplaintInvestigationForm(VersionedFormMixin, ModelForm):
    reason = reason_field(required=False)

    class Meta:
        model = Complaint
        fields = [
            "retained_sample_result",
            "batch_record_review",
            "other_batches_considered",
            "other_batches_conclusion",
            "root_cause",
            "capa_reference",
            "responsibility",
            "sales_chain_action",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 2})
            for name in (
                "retained_sample_result",
                "batch_record_review",
                "other_batches_considered",
                "other_batches_conclusion",
                "root_cause",
                "sales_chain_action",
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["responsibility"].choices = [("", "—")] + Responsibility.choices


class ComplaintNoHoldForm(Form):
    """ "Place a hold?" answered no: QA's reason, kept on the complaint and in its audit trail."""

    reason = forms.CharField(
        label=_("Why no hold is needed"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Recorded in the audit trail with your name and the time; the closing signature covers it."),
        error_messages={"required": _("Say why no hold is needed.")},
    )


class ComplaintHoldForm(SignatureForm):
    """ "Place a hold?" from a complaint: the reason is the hold's (shown on the batch and in the
    shipping gate's refusal), then the password for the signature "Hold placed"."""

    reason = forms.CharField(
        label=_("Reason for the hold"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown on the batch and in every refusal to ship it."),
        error_messages={"required": _("Give the reason for the hold.")},
    )
    comment = None  # the reason is the signature's comment
    field_order = ["reason", "password"]


class ComplaintDecisionForm(VersionedFormMixin, Form):
    recall_needed = forms.TypedChoiceField(
        label=_("Recall needed?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
        error_messages={"required": _("Decide whether a recall is needed.")},
    )
    recall_rationale = forms.CharField(label=_("Rationale"), widget=forms.Textarea(attrs={"rows": 2}))
    reason = reason_field(required=False)


class ComplaintReplyForm(VersionedFormMixin, Form):
    reply_at = forms.DateTimeField(label=_("Replied to the complainant at"), widget=DATETIME)
    reply_content = forms.CharField(label=_("Reply to the complainant"), widget=forms.Textarea(attrs={"rows": 3}))
    reason = reason_field(required=False)


class ComplaintFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + Complaint.Status.choices)
    triage = forms.ChoiceField(label=_("Triage"), required=False, choices=[("", _("All"))] + Complaint.Triage.choices)


class ADRAssessForm(VersionedFormMixin, ModelForm):
    reason = reason_field()

    class Meta:
        model = ADRCase
        fields = list(ADRCase.EDITABLE_FIELDS)
        widgets = {
            "onset_date": DATE,
            "reaction": forms.Textarea(attrs={"rows": 2}),
            "concomitant_drugs": forms.Textarea(attrs={"rows": 2}),
        }


class ADRReportSignForm(SignatureForm):
    national_report_number = forms.CharField(label=_("National system report number"), max_length=64)
    reported_at = forms.DateTimeField(label=_("Reported at"), widget=DATETIME)
    field_order = ["national_report_number", "reported_at", "password", "comment"]


class ADRInvestigationSignForm(SignatureForm):
    reference = forms.CharField(label=_("Reference"), max_length=64)
    submitted_at = forms.DateTimeField(label=_("Submitted at"), widget=DATETIME)
    summary = forms.CharField(label=_("Summary of the investigation"), widget=forms.Textarea(attrs={"rows": 3}))
    field_order = ["reference", "submitted_at", "summary", "password", "comment"]


class ADRFollowUpForm(Form):
    received_at = forms.DateTimeField(
        label=_("New information received at"),
        widget=DATETIME,
        help_text=_("When anyone in the company received it: the follow-up's day 0."),
    )
    information = forms.CharField(label=_("New information"), widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ADRCase.Outcome.choices)
    death = forms.BooleanField(label=_("The patient died"), required=False)
    serious = forms.BooleanField(label=_("Serious (now)"), required=False)


class ADRFollowUpReportForm(SignatureForm):
    national_report_number = forms.CharField(label=_("National system report number"), max_length=64)
    reported_at = forms.DateTimeField(label=_("Reported at"), widget=DATETIME)
    field_order = ["national_report_number", "reported_at", "password", "comment"]


class ADRFilterForm(Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + ADRCase.Status.choices)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)


class VisitForm(ModelForm):
    topics = forms.MultipleChoiceField(
        label=_("Topics"), choices=VisitTopic.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = CustomerVisit
        fields = list(CustomerVisit.EDITABLE_FIELDS)
        widgets = {
            "visited_at": DATETIME,
            "opinions": forms.Textarea(attrs={"rows": 3}),
            "handling": forms.Textarea(attrs={"rows": 3}),
            "side_effect_description": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.exclude(status=Customer.Status.VOIDED).order_by("name")
        self.fields["side_effect_product"].queryset = Product.objects.active().order_by("name")


class LedgerMonthForm(Form):
    month = forms.DateField(
        label=_("Month"),
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        error_messages={"invalid": _("Enter a month as YYYY-MM.")},
    )


# --- distribution records and returns (R-SHIP-1, R-RET-1) ------------------------------------------


class GateCheckedBatchField(forms.ModelChoiceField):
    """Offers the batches that may ship, but accepts any batch: one offered when the form was opened
    may have been held or locked since (recall information, R-RCL-2), and the service's gate then
    refuses it with its reason instead of "Select a valid choice", which does not say why (R-UX-2)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return Batch.objects.select_related("product").get(pk=int(value))
        except (TypeError, ValueError, OverflowError, Batch.DoesNotExist):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice") from None


class ShipmentForm(Form):
    """A shipment (R-SHIP-1). The pickers offer shippable batches and qualified customers; the
    service asks the gate and the qualification check again for the dispatch date."""

    purpose = forms.ChoiceField(label=_("Purpose"), choices=Shipment.Purpose.choices, initial=Shipment.Purpose.SALE)
    batch = GateCheckedBatchField(label=_("Batch"), queryset=Batch.objects.none())
    customer = forms.ModelChoiceField(label=_("Consignee"), queryset=Customer.objects.none())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=10_000_000)
    unit_price = forms.DecimalField(
        label=_("Unit price (CNY)"), min_value=0, max_value=1_000_000, max_digits=12, decimal_places=2
    )
    dispatch_date = forms.DateField(label=_("Dispatch date"), widget=DATE)
    transport_mode = forms.ChoiceField(label=_("Transport mode"), choices=TransportMode.choices)
    delivery_note = forms.CharField(label=_("Delivery note number"), max_length=64, required=False)
    pickup_person = forms.ModelChoiceField(
        label=_("Authorised pick-up person"),
        queryset=CustomerPerson.objects.filter(kind=CustomerPerson.Kind.PICKUP).select_related("customer"),
        required=False,
    )
    complaint = forms.ModelChoiceField(
        label=_("Complaint (replacement only)"),
        queryset=Complaint.objects.filter(
            triage=Complaint.Triage.SALES_CHAIN, responsibility=Responsibility.OURS
        ).exclude(status=Complaint.Status.CLOSED),
        required=False,
    )
    notes = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # FEFO: shown (as a checkbox, with the warning beside it) only when an earlier-expiring batch of
    # the product may ship; the person confirms and the shipment's history says so.
    fefo_confirmed = forms.BooleanField(
        label=_("Ship this batch although an earlier-expiring batch is available"),
        required=False,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from release.for_shipping import shippable_batches

        self.fields["batch"].queryset = shippable_batches().select_related("product").order_by("expiry_date", "pk")
        self.fields["customer"].queryset = Customer.objects.qualified().exclude(customer_type=CustomerType.CHAIN_OUTLET)

    def clean(self):
        data = super().clean()
        batch, day = data.get("batch"), data.get("dispatch_date")
        if batch is not None and day is not None:
            from aftersales.services.shipments import fefo_warning

            if warning := fefo_warning(batch, day):
                self.fields["fefo_confirmed"].widget = forms.CheckboxInput()
                if not data.get("fefo_confirmed"):
                    self.add_error("fefo_confirmed", warning)
        return data


class ShipmentFilterForm(Form):
    # Typed, not lists: 2,000 products and 5,000 customers as <option>s on every page were most of the
    # list's time at a plant's volume (issue 12: 1.3 s of a 1.4 s page at 1,000,000 shipments).
    product = forms.CharField(
        label=_("Product"), max_length=200, required=False, help_text=_("Part of the product or generic name.")
    )
    batch = forms.CharField(label=_("Batch number"), max_length=50, required=False)
    customer = forms.CharField(
        label=_("Consignee"), max_length=200, required=False, help_text=_("Part of the customer name.")
    )
    date_from = forms.DateField(label=_("Dispatched from"), required=False, widget=DATE)
    date_to = forms.DateField(label=_("Dispatched to"), required=False, widget=DATE)


class ShipmentImportForm(Form):
    file = forms.FileField(
        label=_("CSV file from the ERP"),
        help_text=_(
            "UTF-8, with the header: delivery_note, batch_number, product, customer, quantity, unit_price, "
            "dispatch_date, transport_mode, purpose, fefo_confirmed (the last two optional; fefo_confirmed "
            "yes ships a row although an earlier-expiring batch may ship)."
        ),
    )
    import_good_rows = forms.BooleanField(
        label=_("Import the valid rows even if some rows are refused"),
        required=False,
        help_text=_("Unticked, a file with any refused row writes nothing."),
    )
    # FEFO: offered only after an import listed rows with a FEFO warning; the token ties the tick to
    # those lines of that very file (its SHA-256), which the person chooses again.
    fefo_confirmation = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_fefo = forms.BooleanField(
        label=_("Ship the rows listed with a FEFO warning anyway (choose the same file again)"),
        required=False,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        token = self.data.get("fefo_confirmation") if self.is_bound else self.initial.get("fefo_confirmation")
        if not token:
            del self.fields["confirm_fefo"]


class ShipmentVoidForm(SignatureForm):
    reason = reason_field()
    field_order = ["reason", "password", "comment"]


class ReturnForm(ModelForm):
    class Meta:
        model = GoodsReturn
        fields = list(GoodsReturn.EDITABLE_FIELDS)
        widgets = {
            "received_on": DATE,
            "reason": forms.Textarea(attrs={"rows": 2}),
            "condition": forms.Textarea(attrs={"rows": 2}),
            "storage_history": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.exclude(status=Customer.Status.VOIDED)
        self.fields["batch"].queryset = Batch.objects.select_related("product").order_by("-manufacture_date", "pk")
        self.fields["complaint"].queryset = Complaint.objects.exclude(status=Complaint.Status.CLOSED)


class ReturnEvaluateForm(SignatureForm):
    decision = forms.ChoiceField(label=_("Decision"), choices=ReturnDecision.choices)
    evaluation = forms.CharField(label=_("QA evaluation"), widget=forms.Textarea(attrs={"rows": 3}))
    field_order = ["decision", "evaluation", "password", "comment"]


class ReturnDestroyForm(SignatureForm):
    destroyed_on = forms.DateField(label=_("Destroyed on"), widget=DATE)
    method = forms.CharField(label=_("Destruction method"), max_length=200)
    witnesses = forms.CharField(label=_("Witnesses"), max_length=300)
    field_order = ["destroyed_on", "method", "witnesses", "password", "comment"]
