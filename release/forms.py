from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.concurrency import VersionedFormMixin
from core.dates import validate_plausible_date
from core.forms import Form, ModelForm, SignatureForm, reason_field
from core.models import User
from release.models import (
    Answer,
    Batch,
    Decision,
    Deviation,
    DosageForm,
    EventClass,
    MaterialLot,
    MaterialUnit,
    Product,
    QualityEvent,
    Verdict,
    batch_value_problems,
)


class ProductForm(ModelForm):
    class Meta:
        model = Product
        fields = list(Product.EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left empty: the model's default limits (R-REL-8).
        for name in ("balance_lower_limit", "balance_upper_limit"):
            self.fields[name].required = False

    def _limit(self, name: str):
        value = self.cleaned_data.get(name)
        return Product._meta.get_field(name).get_default() if value is None else value

    def clean_balance_lower_limit(self):
        return self._limit("balance_lower_limit")

    def clean_balance_upper_limit(self):
        return self._limit("balance_upper_limit")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lower, upper = data.get("balance_lower_limit"), data.get("balance_upper_limit")
        if lower is not None and upper is not None and lower > upper:
            self.add_error("balance_lower_limit", _("The lower limit cannot be above the upper limit."))
        return data

    def clean_approval_number(self) -> str:
        value = self.cleaned_data["approval_number"].strip()
        clash = Product.objects.filter(approval_number__iexact=value)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(_("A product with this approval number already exists."))
        return value


class ProductEditForm(VersionedFormMixin, ProductForm):
    reason = reason_field()


class ProductFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + Product.Status.choices)
    dosage_form = forms.ChoiceField(
        label=_("Dosage form"), required=False, choices=[("", _("All"))] + DosageForm.choices
    )


def _plausible(value: date | None) -> date | None:
    # Outside core.dates.plausible_date_window(): a typing mistake or a back-dating.
    validate_plausible_date(value)
    return value


class BatchForm(ModelForm):
    class Meta:
        model = Batch
        fields = list(Batch.EDITABLE_FIELDS)
        widgets = {
            "manufacture_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "expiry_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        products = Product.objects.filter(status=Product.Status.APPROVED)
        if self.instance.pk:
            products = Product.objects.filter(pk=self.instance.product_id) | products
        self.fields["product"].queryset = products.order_by("name")
        self.fields["expiry_date"].required = False

    def clean_batch_number(self) -> str:
        return self.cleaned_data["batch_number"].strip()

    def clean_batch_size(self):
        # The database refuses a size of zero (release_batch_size_positive); say so beside the field.
        value = self.cleaned_data["batch_size"]
        problems = batch_value_problems(product=None, manufacture_date=None, expiry_date=None, batch_size=value)
        if "batch_size" in problems:
            raise forms.ValidationError(problems["batch_size"])
        return value

    def clean_manufacture_date(self) -> date | None:
        return _plausible(self.cleaned_data.get("manufacture_date"))

    def clean_expiry_date(self) -> date | None:
        return _plausible(self.cleaned_data.get("expiry_date"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        made, expiry = data.get("manufacture_date"), data.get("expiry_date")
        product, number = data.get("product"), data.get("batch_number")
        problems = batch_value_problems(
            product=product, manufacture_date=made, expiry_date=expiry, batch_size=data.get("batch_size")
        )
        if "expiry_date" in problems:
            self.add_error("expiry_date", problems["expiry_date"])
        if product and number:
            clash = Batch.objects.filter(product=product, batch_number__iexact=number)
            if self.instance.pk:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(
                    "batch_number", _("Batch %(number)s of this product already exists.") % {"number": number}
                )
        return data

    def _post_clean(self) -> None:
        # Expiry may be left empty on the form (the service calculates it); skip model validation
        # of that one field rather than reporting "required".
        exclude = self._get_validation_exclusions()
        if not self.cleaned_data.get("expiry_date"):
            exclude.add("expiry_date")
        try:
            self.instance = forms.models.construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)
        except forms.ValidationError as e:
            self._update_errors(e)
        try:
            self.instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except forms.ValidationError as e:
            self._update_errors(e)


class BatchEditForm(VersionedFormMixin, BatchForm):
    reason = reason_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expiry_date"].required = True
        # A batch stays with its product (the service refuses a move as well).
        self.fields["product"].disabled = True


class BatchFilterForm(Form):
    # The product is typed into the search, not chosen from a list: 2,000 products as <option>s on every
    # page were most of the list's time at 100k batches (issue 12). A product's page still links here
    # with ?product=<id> ("Show all"), which the list shows as a filter that can be removed.
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        help_text=_("Part of the batch number, the product or the generic name."),
    )
    product = forms.CharField(required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(label=_("Disposition"), required=False, choices=[("", _("All"))] + Batch.Status.choices)


class HoldForm(Form):
    reason = forms.CharField(
        label=_("Reason for the hold"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": _("Give the reason for the hold.")},
    )
    source_text = forms.CharField(
        label=_("Source"),
        required=False,
        max_length=200,
        help_text=_("e.g. a complaint number or a regulator's notice"),
    )


class QualityEventForm(Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}))
    classification = forms.ChoiceField(label=_("Classification"), choices=EventClass.choices)
    batch_numbers = forms.CharField(
        label=_("Batches affected"),
        required=False,
        help_text=_("Batch numbers separated by commas, e.g. A2411002, B2609001"),
    )
    investigation = forms.CharField(
        label=_("Investigation (including other batches)"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    conclusion = forms.CharField(label=_("Conclusion"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, instance: Any = None, **kwargs: Any) -> None:
        if instance is not None:
            initial = {
                name: getattr(instance, name)
                for name in ("title", "description", "classification", "investigation", "conclusion")
            }
            initial.update(kwargs.pop("initial", None) or {})
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)

    def clean_batch_numbers(self) -> list[Batch]:
        numbers = [n.strip() for n in self.cleaned_data["batch_numbers"].replace("，", ",").split(",") if n.strip()]
        found: list[Batch] = []
        unknown, ambiguous = [], []
        for number in dict.fromkeys(numbers):
            matches = list(Batch.objects.filter(batch_number__iexact=number)[:2])
            if not matches:
                unknown.append(number)
            elif len(matches) > 1:
                ambiguous.append(number)
            else:
                found.append(matches[0])
        if unknown:
            raise forms.ValidationError(_("No batch with the number: %(numbers)s.") % {"numbers": ", ".join(unknown)})
        if ambiguous:
            raise forms.ValidationError(
                _("Several products have a batch numbered %(numbers)s; raise it from the batch's page.")
                % {"numbers": ", ".join(ambiguous)}
            )
        return found


class QualityEventEditForm(QualityEventForm):
    reason = reason_field()


class DeviationLinkForm(Form):
    """Link an existing open deviation to an OOS investigation, by its number (issue 7)."""

    number = forms.CharField(
        label=_("Deviation number"), max_length=32, help_text=_("As printed on the deviation, e.g. DEV-2026-0001.")
    )
    reason = reason_field()

    def clean_number(self) -> Deviation:
        number = self.cleaned_data["number"].strip().upper()
        deviation = Deviation.objects.filter(number=number).first()
        if deviation is None:
            raise forms.ValidationError(
                _("No deviation has the number %(number)s; check it on the deviation's page.") % {"number": number}
            )
        return deviation


class QualityEventFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + QualityEvent.Status.choices
    )
    classification = forms.ChoiceField(
        label=_("Classification"), required=False, choices=[("", _("All"))] + EventClass.choices
    )


class ChecklistForm(SignatureForm):
    """A stage's checklist: per item 符合 / 不符合 / 不适用, a comment (the reason for 不适用), a
    justification (required against a system finding) and the deviation that covers a 不符合 —
    then the signing password. The service decides; this form only shapes the input."""

    def __init__(self, *args: Any, template=None, found: dict | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        found = found or {}
        self.rows = []
        self.key_fields: dict[str, str] = {}
        for item in template.items.order_by("position"):
            n = item.position
            self.fields[f"i{n}_answer"] = forms.ChoiceField(
                label=item.key,
                choices=Answer.choices,
                widget=forms.RadioSelect,
                error_messages={"required": _("Answer this item.")},
            )
            self.fields[f"i{n}_comment"] = forms.CharField(label=_("Comment / reason"), required=False, max_length=2000)
            self.fields[f"i{n}_justification"] = forms.CharField(
                label=_("Justification"), required=False, max_length=2000
            )
            self.fields[f"i{n}_deviation"] = forms.CharField(label=_("Deviation no."), required=False, max_length=32)
            # The table shows these without a <label>: name each input for screen readers (WCAG 2.1 AA).
            for part in ("comment", "justification", "deviation"):
                field = self.fields[f"i{n}_{part}"]
                field.widget.attrs["aria-label"] = f"{item.key}: {field.label}"
            self.key_fields[f"item:{item.key}"] = f"i{n}_answer"
            self.rows.append(
                {
                    "item": item,
                    "check": found.get(item.system_check) if item.system_check else None,
                    "answer": self[f"i{n}_answer"],
                    "comment": self[f"i{n}_comment"],
                    "justification": self[f"i{n}_justification"],
                    "deviation": self[f"i{n}_deviation"],
                }
            )
        # The password last: people answer, then sign.
        self.order_fields(
            [name for name in self.fields if name not in ("password", "comment")] + ["comment", "password"]
        )

    def answers(self) -> dict:
        from release.services import ItemAnswer

        out = {}
        for row in self.rows:
            n = row["item"].position
            out[row["item"].key] = ItemAnswer(
                answer=self.cleaned_data.get(f"i{n}_answer") or "",
                comment=self.cleaned_data.get(f"i{n}_comment") or "",
                justification=self.cleaned_data.get(f"i{n}_justification") or "",
                deviation=self.cleaned_data.get(f"i{n}_deviation") or "",
            )
        return out


class QAChecklistForm(ChecklistForm):
    production_verdict = forms.ChoiceField(
        label=_("Production evaluation"), choices=Verdict.choices, widget=forms.RadioSelect
    )
    testing_verdict = forms.ChoiceField(
        label=_("Testing evaluation"), choices=Verdict.choices, widget=forms.RadioSelect
    )
    audit_trail_reviewed = forms.BooleanField(
        label=_("I have read the batch's critical-data changes listed on this page."),
        error_messages={"required": _("Confirm that you read the batch's critical-data changes (R-AT-6).")},
    )
    lot_release_number = forms.CharField(
        label=_("Lot release certificate number (批签发)"), required=False, max_length=64
    )


class DecisionForm(SignatureForm):
    """The QP's release: the responsibility statement is shown beside the password."""


class RejectForm(SignatureForm):
    reason = forms.CharField(
        label=_("Reason for rejection"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": _("Give the reason for the rejection: it is printed on the nonconforming-product report.")
        },
    )
    field_order = ["reason", "password", "comment"]


class OtherDecisionForm(SignatureForm):
    text = forms.CharField(
        label=_("What must happen"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say what must happen before the batch can be decided.")},
    )
    field_order = ["text", "password", "comment"]


class CorrectionRequestForm(SignatureForm):
    """QA's correction of a decided review's document: the entry, what it should read, why."""

    item_key = forms.ChoiceField(label=_("Entry to correct"))
    correction = forms.CharField(
        label=_("What the entry should read"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": _("Write what the entry should read.")},
    )
    reason = forms.CharField(
        label=_("Reason for the correction"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        error_messages={"required": _("Give the reason for the correction: it is printed on the new version.")},
    )
    field_order = ["item_key", "correction", "reason", "password", "comment"]

    def __init__(self, *args: Any, keys: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item_key"].choices = [(k, k) for k in keys or []]
        self.fields["item_key"].error_messages["invalid_choice"] = _("Choose an entry of this review.")
        del self.fields["comment"]


class CorrectionRefuseForm(SignatureForm):
    reason = forms.CharField(
        label=_("Reason for refusing"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for refusing the correction.")},
    )
    field_order = ["reason", "password"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["comment"]


class SendBackForm(Form):
    reason = forms.CharField(
        label=_("Reason for sending back"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for sending the review back.")},
    )


class RegisterFilterForm(Form):
    # Typed, not a list: a plant with 2,000 products would otherwise render every one of them as an
    # option on every page of the register (issue 12's measurement: ~300 ms of the page at 100k batches).
    product = forms.CharField(
        label=_("Product"), required=False, max_length=200, help_text=_("Part of the product or generic name.")
    )
    decision = forms.ChoiceField(label=_("Decision"), required=False, choices=[("", _("All"))] + Decision.choices)
    decided_from = forms.DateField(
        label=_("Decided from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    decided_to = forms.DateField(
        label=_("Decided until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    batch = forms.CharField(label=_("Batch number"), required=False)


class DesignationForm(Form):
    person = forms.ModelChoiceField(label=_("Qualified person"), queryset=User.objects.none())
    products = forms.ModelMultipleChoiceField(
        label=_("Products"), queryset=Product.objects.filter(status=Product.Status.APPROVED).order_by("name")
    )
    letter_number = forms.CharField(label=_("Authorisation letter number"), max_length=64)
    factory_release = forms.BooleanField(label=_("Factory release (出厂放行)"), required=False, initial=True)
    market_release = forms.BooleanField(label=_("Market release (上市放行)"), required=False, initial=True)
    deputy = forms.BooleanField(label=_("Deputy qualified person"), required=False)
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(label=_("Valid to"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from core.roles import QUALIFIED_PERSON

        self.fields["person"].queryset = User.objects.filter(groups__name=QUALIFIED_PERSON, is_active=True).order_by(
            "username"
        )
        self.fields["person"].label_from_instance = lambda u: f"{u.printed_name} ({u.username})"


class RevokeForm(Form):
    reason = reason_field()


# --- material lots, bill of materials, material balance (R-MAT-1, R-REL-8) -----------------------------

QUANTITY = {"max_digits": 14, "decimal_places": 3}


class MaterialLotForm(ModelForm):
    qc_report_number = forms.CharField(
        label=_("QC report number"),
        required=False,
        max_length=20,
        help_text=_("The report number of the lot's approved QC test record, if tested already."),
    )

    class Meta:
        model = MaterialLot
        fields = [f for f in MaterialLot.EDITABLE_FIELDS if f != "qc_record"]
        widgets = {
            "received_date": forms.DateInput(attrs={"type": "date"}),
            "expiry_date": forms.DateInput(attrs={"type": "date"}),
        }

    def clean_received_date(self) -> date | None:
        return _plausible(self.cleaned_data.get("received_date"))

    def clean_lot_number(self) -> str:
        value = self.cleaned_data["lot_number"].strip()
        if MaterialLot.objects.filter(lot_number__iexact=value).exists():
            raise forms.ValidationError(_("Lot %(lot)s is already registered.") % {"lot": value})
        return value

    def clean_quantity(self):
        value = self.cleaned_data.get("quantity")
        if value is not None and value <= 0:
            raise forms.ValidationError(_("The quantity must be greater than zero."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        received, expiry = data.get("received_date"), data.get("expiry_date")
        if received and expiry and expiry <= received:
            self.add_error("expiry_date", _("The expiry or retest date must be after the date received."))
        return data


class LinkQCRecordForm(Form):
    qc_report_number = forms.CharField(label=_("QC report number"), max_length=20)
    reason = reason_field()


class MaterialLotFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All"))] + MaterialLot.Status.choices)


class BatchMaterialForm(Form):
    # Typed, not a list: a plant registers thousands of lots, and a list of them all was rendered
    # on every batch page (2 s at 20,000 lots, issue 12).
    lot = forms.CharField(
        label=_("Material lot number"),
        max_length=64,
        help_text=_("Our lot number, as on the lot's label."),
    )
    quantity = forms.DecimalField(label=_("Quantity used"), **QUANTITY)

    def clean_lot(self) -> MaterialLot:
        number = self.cleaned_data["lot"].strip()
        lot = MaterialLot.objects.exclude(status=MaterialLot.Status.VOIDED).filter(lot_number__iexact=number).first()
        if lot is None:
            raise forms.ValidationError(_("No material lot has the number %(lot)s.") % {"lot": number})
        return lot

    def clean_quantity(self):
        value = self.cleaned_data.get("quantity")
        if value is not None and value <= 0:
            raise forms.ValidationError(_("The quantity used must be greater than zero."))
        return value


class MaterialBalanceForm(Form):
    step = forms.CharField(label=_("Process step"), max_length=100)
    theoretical = forms.DecimalField(label=_("Theoretical quantity"), **QUANTITY)
    actual = forms.DecimalField(label=_("Actual quantity"), min_value=0, **QUANTITY)
    samples = forms.DecimalField(label=_("Samples taken"), required=False, min_value=0, **QUANTITY)
    waste = forms.DecimalField(label=_("Collected waste"), required=False, min_value=0, **QUANTITY)
    unit = forms.ChoiceField(label=_("Unit"), choices=MaterialUnit.choices)

    def clean_theoretical(self):
        value = self.cleaned_data.get("theoretical")
        if value is not None and value <= 0:
            raise forms.ValidationError(_("The theoretical quantity must be greater than zero."))
        return value
