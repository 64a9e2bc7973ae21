"""Input validation for the QC pages. Business rules stay in services; forms only check input."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.concurrency import VersionedFormMixin
from core.forms import Form, ModelForm, SignatureForm, reason_field
from qc_records.criteria import CriterionKind, ResultError
from qc_records.models import (
    Category,
    Instrument,
    ItemBlock,
    OOSInvestigation,
    Reagent,
    Sample,
    Specification,
    SpecificationItem,
    TestRecord,
    TestResult,
)
from qc_records.services import REVIEW_CHECKLIST, ResultEntry

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- specifications -----------------------------------------------------------------------------


class SpecificationForm(ModelForm):
    class Meta:
        model = Specification
        fields = list(Specification.EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.apps import apps

        Product = apps.get_model("release", "Product")
        self.fields["product"].queryset = Product.objects.filter(status="approved").order_by("name")
        if self.instance.pk:
            self.fields["code"].disabled = True


class SpecificationEditForm(VersionedFormMixin, SpecificationForm):
    reason = reason_field()


class SpecificationItemForm(ModelForm):
    class Meta:
        model = SpecificationItem
        fields = list(SpecificationItem.EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["position"].required = False


class SpecificationItemEditForm(VersionedFormMixin, SpecificationItemForm):
    reason = reason_field()


# --- registers ----------------------------------------------------------------------------------


class InstrumentForm(ModelForm):
    class Meta:
        model = Instrument
        fields = list(Instrument.EDITABLE_FIELDS)
        widgets = {"last_calibrated": DATE, "calibration_due": DATE}


class InstrumentEditForm(VersionedFormMixin, InstrumentForm):
    reason = reason_field()


class ReagentForm(ModelForm):
    class Meta:
        model = Reagent
        fields = list(Reagent.EDITABLE_FIELDS)
        widgets = {"received_date": DATE, "expiry_date": DATE}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("received_date") and data.get("expiry_date") and data["expiry_date"] < data["received_date"]:
            self.add_error("expiry_date", _("The expiry date is before the date received / prepared."))
        return data

    def validate_unique(self) -> None:
        # The service reports a duplicate lot beside the field; the model check would word it
        # differently for the same thing.
        pass


class ReagentEditForm(VersionedFormMixin, ReagentForm):
    reason = reason_field()


REGISTER_VIEWS = [
    ("", gettext_lazy("All")),
    ("due", gettext_lazy("Due within 30 days")),
    ("expired", gettext_lazy("Expired")),
]


class RegisterFilterForm(Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False)
    view = forms.ChoiceField(label=gettext_lazy("Show"), required=False, choices=REGISTER_VIEWS)


# --- samples ------------------------------------------------------------------------------------


class SampleForm(ModelForm):
    class Meta:
        model = Sample
        fields = list(Sample.EDITABLE_FIELDS)
        widgets = {"received_date": DATE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from django.apps import apps

        Batch = apps.get_model("release", "Batch")
        Product = apps.get_model("release", "Product")
        specs = Specification.objects.in_force()
        if self.instance.pk:
            specs = specs | Specification.objects.filter(pk=self.instance.specification_id)
        self.fields["specification"].queryset = specs.select_related("product").order_by("code")
        self.fields["specification"].label_from_instance = lambda s: f"{s} · {s.title}"
        self.fields["batch"].queryset = (
            Batch.objects.exclude(status="voided").select_related("product").order_by("-manufacture_date")
        )
        self.fields["batch"].label_from_instance = lambda b: f"{b.batch_number} · {b.product.name} {b.product.strength}"
        self.fields["product"].queryset = Product.objects.filter(status="approved").order_by("name")
        self.fields["received_date"].initial = timezone.localdate()


class SampleEditForm(VersionedFormMixin, SampleForm):
    reason = reason_field()


class SampleFilterForm(Form):
    q = forms.CharField(label=gettext_lazy("Search"), required=False)
    category = forms.ChoiceField(
        label=gettext_lazy("Category"), required=False, choices=[("", gettext_lazy("All"))] + Category.choices
    )
    waiting = forms.BooleanField(label=gettext_lazy("Only samples waiting for a test record"), required=False)


# --- the test record form -----------------------------------------------------------------------

COMPLIES_CHOICES = [("", "—"), ("yes", gettext_lazy("Complies")), ("no", gettext_lazy("Does not comply"))]


class PickerSelect(forms.SelectMultiple):
    """A multiple select whose unusable options (calibration or expiry past on the test date) are
    shown, marked and disabled, so they cannot be picked (issue 7; R-QC-3)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.disabled_values: set[str] = set()

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        if str(getattr(value, "value", value)) in self.disabled_values and not selected:
            option["attrs"]["disabled"] = True
        return option


class ResultRow:
    """One individual result on the form: the bound fields beside the stored result."""

    def __init__(self, form: TestRecordForm, result) -> None:
        self.result = result
        self.value = form[f"r{result.pk}_value"] if f"r{result.pk}_value" in form.fields else None
        self.complies = form[f"r{result.pk}_complies"] if f"r{result.pk}_complies" in form.fields else None
        self.calculation = form[f"r{result.pk}_calc"] if f"r{result.pk}_calc" in form.fields else None


class TestRecordForm(VersionedFormMixin, Form):
    """Everything an analyst enters on one page: conditions, instruments, reagents and every
    individual result of every item (40 items stay one form, one service call)."""

    __test__ = False

    test_date = forms.DateField(label=gettext_lazy("Test date"), widget=DATE)
    temperature = forms.DecimalField(
        label=gettext_lazy("Room temperature (°C)"),
        required=False,
        max_digits=4,
        decimal_places=1,
        min_value=-10,
        max_value=50,
    )
    humidity = forms.DecimalField(
        label=gettext_lazy("Relative humidity (%)"),
        required=False,
        max_digits=4,
        decimal_places=1,
        min_value=0,
        max_value=100,
    )
    instruments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Instruments and volumetric glassware used"),
        required=False,
        queryset=Instrument.objects.none(),
        widget=PickerSelect(attrs={"size": 6}),
    )
    reagents = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Reagents, test solutions, titrants, culture media and reference standards used"),
        required=False,
        queryset=Reagent.objects.none(),
        widget=PickerSelect(attrs={"size": 6}),
    )
    observations = forms.CharField(
        label=gettext_lazy("Observations"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    method_notes = forms.CharField(
        label=gettext_lazy("Procedure notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Needed to correct a result already recorded, or to change a submitted record (it goes back to draft)."
        ),
    )

    def __init__(
        self, *args: Any, record: TestRecord, blocks: list[ItemBlock], uses: tuple[list, list], **kwargs: Any
    ) -> None:
        self.record = record
        self.blocks = blocks
        instrument_uses, reagent_uses = uses
        if not kwargs.get("data"):
            kwargs.setdefault("initial", {}).update(
                {
                    "test_date": record.test_date,
                    "temperature": record.temperature,
                    "humidity": record.humidity,
                    "observations": record.observations,
                    "method_notes": record.method_notes,
                    "instruments": [u.instrument_id for u in instrument_uses],
                    "reagents": [u.reagent_id for u in reagent_uses],
                }
            )
        super().__init__(*args, versioned=record, **kwargs)
        used_i = [u.instrument_id for u in instrument_uses]
        used_r = [u.reagent_id for u in reagent_uses]
        # Already on the record: judged by the date recorded when chosen (the service re-checks).
        self._used = {"instruments": set(used_i), "reagents": set(used_r)}
        self.fields["instruments"].queryset = Instrument.objects.filter(
            Q(status=Instrument.Status.IN_SERVICE) | Q(pk__in=used_i)
        ).order_by("code")
        on = record.test_date
        expired = _("EXPIRED — cannot be used")
        self.fields["instruments"].label_from_instance = lambda i: (
            _("%(code)s %(name)s (%(model)s) · calibration due %(due)s")
            % {"code": i.code, "name": i.name, "model": i.model, "due": i.calibration_due.isoformat()}
            + (f" · {expired}" if i.calibration_due < on else "")
        )
        self.fields["instruments"].widget.disabled_values = {
            str(pk)
            for pk in self.fields["instruments"].queryset.filter(calibration_due__lt=on).values_list("pk", flat=True)
            if pk not in used_i
        }
        self.fields["reagents"].queryset = Reagent.objects.filter(
            Q(status=Reagent.Status.IN_USE) | Q(pk__in=used_r)
        ).order_by("name", "lot_number")
        self.fields["reagents"].label_from_instance = lambda r: (
            _("%(name)s · lot %(lot)s · %(source)s · expires %(expiry)s")
            % {"name": r.name, "lot": r.lot_number, "source": r.source, "expiry": r.expiry_date.isoformat()}
            + (f" · {expired}" if r.expiry_date < on else "")
        )
        self.fields["reagents"].widget.disabled_values = {
            str(pk)
            for pk in self.fields["reagents"].queryset.filter(expiry_date__lt=on).values_list("pk", flat=True)
            if pk not in used_r
        }
        self.rows: list[tuple[ItemBlock, list[ResultRow]]] = []
        for block in blocks:
            for result in block.current:
                kind = block.item.criterion_kind
                label = f"{block.item.name} #{result.replicate}"
                # A result under an OOS investigation stands as recorded (the service refuses a change).
                locked = result.oos_id is not None
                self.fields[f"r{result.pk}_value"] = forms.CharField(
                    label=label,
                    required=False,
                    max_length=200,
                    initial=result.value_text,
                    disabled=locked,
                    widget=forms.TextInput(
                        attrs={
                            "inputmode": "decimal" if kind == CriterionKind.NUMERIC else "text",
                            "class": "form-control form-control-sm",
                            "aria-label": label,
                        }
                    ),
                )
                if kind == CriterionKind.TEXT:
                    self.fields[f"r{result.pk}_complies"] = forms.ChoiceField(
                        label=_("%(label)s judgement") % {"label": label},
                        required=False,
                        choices=COMPLIES_CHOICES,
                        initial={True: "yes", False: "no", None: ""}[result.complies],
                        disabled=locked,
                        widget=forms.Select(
                            attrs={
                                "class": "form-select form-select-sm",
                                "aria-label": _("%(label)s judgement") % {"label": label},
                            }
                        ),
                    )
                self.fields[f"r{result.pk}_calc"] = forms.CharField(
                    label=_("%(label)s calculation") % {"label": label},
                    required=False,
                    initial=result.calculation,
                    disabled=locked,
                    widget=forms.TextInput(
                        attrs={
                            "class": "form-control form-control-sm",
                            "aria-label": _("%(label)s calculation") % {"label": label},
                        }
                    ),
                )
        for block in blocks:
            if block.current:
                # The item's own test date (检验记录书写规程 4.2.4 a), the record's when the same.
                first = block.current[0]
                self.fields[f"i{block.item.pk}_date"] = forms.DateField(
                    label=_("%(item)s test date") % {"item": block.item.name},
                    required=False,
                    initial=first.tested_on or record.test_date,
                    widget=forms.DateInput(
                        attrs={
                            "type": "date",
                            "class": "form-control form-control-sm",
                            "aria-label": _("%(item)s test date") % {"item": block.item.name},
                        }
                    ),
                )
                block.date_field = self[f"i{block.item.pk}_date"]
            self.rows.append((block, [ResultRow(self, r) for r in block.current]))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        test_date: date | None = data.get("test_date")
        if test_date and test_date > timezone.localdate():
            self.add_error("test_date", _("The test date cannot be in the future."))
        for block in self.blocks:
            criterion = block.item.criterion
            for result in block.current:
                name = f"r{result.pk}_value"
                raw = (data.get(name) or "").strip()
                if raw and block.item.criterion_kind == CriterionKind.NUMERIC:
                    try:
                        criterion.parse(raw)
                    except ResultError as exc:
                        self.add_error(name, str(exc))
        if test_date:
            for field, objs in (
                ("instruments", data.get("instruments") or []),
                ("reagents", data.get("reagents") or []),
            ):
                for obj in objs:
                    problem = obj.unusable_reason(test_date)
                    if problem and not self._already_used(field, obj):
                        self.add_error(field, problem)
        return data

    def _already_used(self, field: str, obj) -> bool:
        return obj.pk in self._used[field]

    def result_entries(self) -> dict[int, ResultEntry]:
        entries = {}
        for block in self.blocks:
            for result in block.current:
                if result.oos_id is not None:
                    entries[result.pk] = self._posted_over_lock(result)
                    continue
                complies_raw = self.cleaned_data.get(f"r{result.pk}_complies", "")
                entries[result.pk] = ResultEntry(
                    value_text=self.cleaned_data.get(f"r{result.pk}_value", "") or "",
                    complies={"yes": True, "no": False}.get(complies_raw),
                    calculation=self.cleaned_data.get(f"r{result.pk}_calc", "") or "",
                    # Only a date the analyst changed: a changed record date must not pin the items.
                    tested_on=self.cleaned_data.get(f"i{block.item.pk}_date")
                    if f"i{block.item.pk}_date" in self.changed_data
                    else None,
                )
        return entries

    def _posted_over_lock(self, result: TestResult) -> ResultEntry:
        """A result under OOS investigation: its controls are disabled, so Django would ignore what
        is posted for them. A value posted anyway (the lock removed in the browser) is passed on, so
        the service refuses it beside the field and keeps the attempt for the reviewer (R-QC-5)."""

        def posted(suffix: str, current: str) -> str:
            value = self.data.get(self.add_prefix(f"r{result.pk}_{suffix}"))
            return current if value is None else str(value).strip()

        complies_raw = posted("complies", {True: "yes", False: "no", None: ""}[result.complies])
        return ResultEntry(
            value_text=posted("value", result.value_text),
            complies={"yes": True, "no": False}.get(complies_raw),
            calculation=posted("calc", result.calculation),
        )

    def header(self) -> dict[str, Any]:
        return {
            k: self.cleaned_data[k] for k in ("test_date", "temperature", "humidity", "observations", "method_notes")
        }

    def error_key_map(self) -> dict[str, str]:
        mapping = {}
        for block in self.blocks:
            for result in block.current:
                mapping[f"result:{result.pk}"] = f"r{result.pk}_value"
        return mapping


class AttachmentForm(Form):
    file = forms.FileField(label=gettext_lazy("Raw-data file (chromatogram, spectrum, printout)"))
    item = forms.ModelChoiceField(
        label=gettext_lazy("Test item"), required=False, queryset=SpecificationItem.objects.none()
    )
    description = forms.CharField(label=gettext_lazy("Description"), required=False, max_length=200)
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"),
        required=False,
        help_text=gettext_lazy("Needed when the record has been submitted (it goes back to draft)."),
    )

    def __init__(self, *args: Any, record: TestRecord, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = record.specification.items.filter(voided_at__isnull=True).order_by("position")


class ReviewSignatureForm(SignatureForm):
    """The "Reviewed" signature with the review checklist (检验原始记录管理规程 4.2.1 ①–⑥ + the
    record's audit trail): each item is ticked before the password signs (R-QC-4)."""

    field_order = [key for key, _label in REVIEW_CHECKLIST] + ["password", "comment"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, label in REVIEW_CHECKLIST:
            self.fields[key] = forms.BooleanField(
                label=label,
                required=True,
                error_messages={"required": _("Confirm this item, or send the record back saying what is wrong.")},
            )
        self.order_fields(self.field_order)

    def checklist(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(key)) for key, _label in REVIEW_CHECKLIST}

    def signing_data(self) -> dict[str, Any]:
        return {"password": self.cleaned_data["password"], "comment": self.cleaned_data["comment"]}


class DiscardedRunForm(Form):
    """An invalidated run or discarded data with its cause (检验记录书写规程 4.2.4 e)."""

    item = forms.ModelChoiceField(label=gettext_lazy("Test item"), queryset=SpecificationItem.objects.none())
    data = forms.CharField(
        label=gettext_lazy("Data discarded"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "What was discarded, with its values (e.g. injection 1: 93.1 %, system suitability failed)."
        ),
    )
    cause = forms.CharField(label=gettext_lazy("Cause"), widget=forms.Textarea(attrs={"rows": 2}))
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"),
        required=False,
        help_text=gettext_lazy("Needed when the record has been submitted (it goes back to draft)."),
    )

    def __init__(self, *args: Any, record: TestRecord, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = record.specification.items.filter(voided_at__isnull=True).order_by("position")


# --- OOS ----------------------------------------------------------------------------------------

YES_NO = [("", "—"), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]


class OOSPhaseOneForm(Form):
    phase1_findings = forms.CharField(label=gettext_lazy("Phase I findings"), widget=forms.Textarea(attrs={"rows": 4}))
    assignable_cause = forms.ChoiceField(label=gettext_lazy("Assignable laboratory cause found?"), choices=YES_NO)
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"),
        required=False,
        help_text=gettext_lazy("Needed when you change findings already recorded."),
    )

    def data_for_service(self) -> dict[str, Any]:
        return {
            "phase1_findings": self.cleaned_data["phase1_findings"],
            "assignable_cause": {"yes": True, "no": False}.get(self.cleaned_data["assignable_cause"]),
        }


class OOSPhaseTwoForm(Form):
    phase2_findings = forms.CharField(label=gettext_lazy("Phase II findings"), widget=forms.Textarea(attrs={"rows": 4}))
    reason = forms.CharField(
        label=gettext_lazy("Reason for change"),
        required=False,
        help_text=gettext_lazy("Needed when you change findings already recorded."),
    )

    def data_for_service(self) -> dict[str, Any]:
        return {"phase2_findings": self.cleaned_data["phase2_findings"]}


class OOSCloseForm(SignatureForm):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Conclusion"),
        choices=[("", "—")] + [(v, label) for v, label in OOSInvestigation.Outcome.choices if v],
    )
    summary = forms.CharField(
        label=gettext_lazy("Conclusion and justification"), widget=forms.Textarea(attrs={"rows": 3})
    )
    field_order = ["outcome", "summary", "password", "comment"]


# --- ledger ---------------------------------------------------------------------------------------

LEDGER_CATEGORIES = (
    [("", gettext_lazy("All categories"))] + Category.choices + [("sampling", gettext_lazy("Sampling record"))]
)


class LedgerFilterForm(Form):
    month = forms.CharField(
        label=gettext_lazy("Month"), required=False, widget=forms.TextInput(attrs={"type": "month"})
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False, choices=LEDGER_CATEGORIES)

    def clean_month(self) -> tuple[int, int] | None:
        raw = (self.cleaned_data.get("month") or "").strip()
        if not raw:
            return None
        try:
            year, month = (int(p) for p in raw.split("-"))
            date(year, month, 1)
        except (ValueError, TypeError):
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None
        return year, month


class ArchiveForm(SignatureForm):
    month = forms.CharField(label=gettext_lazy("Month"), widget=forms.TextInput(attrs={"type": "month"}))
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=Category.choices)
    field_order = ["month", "category", "password", "comment"]

    def clean_month(self) -> tuple[int, int]:
        raw = (self.cleaned_data.get("month") or "").strip()
        try:
            year, month = (int(p) for p in raw.split("-"))
            date(year, month, 1)
        except (ValueError, TypeError):
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from None
        return year, month
