"""Input forms of the recalls app (validation of shape only; the services decide)."""

from __future__ import annotations

import copy

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import Form, SignatureForm, SignWithReasonForm, reason_field
from core.models import User
from core.roles import QUALIFIED_PERSON, RECALL_COORDINATOR
from recalls.models import (
    InformationForm,
    InformationSource,
    ProgressEntry,
    Recall,
    RecallClass,
    RecallConsignee,
    RecoveredGoods,
    Scope,
)
from release.models import Batch, Product

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MOMENT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TEXT = forms.Textarea(attrs={"rows": 3})


class BatchesField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Batch) -> str:
        return obj.batch_number


class InformationRecordForm(Form):
    source = forms.ChoiceField(label=_("Source of the information"), choices=InformationSource.choices)
    form = forms.ChoiceField(label=_("Form received in"), choices=InformationForm.choices)
    received_at = forms.DateTimeField(label=_("Received at"), widget=MOMENT)
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.exclude(status=Product.Status.VOIDED).order_by("generic_name")
    )
    batch_numbers = forms.CharField(label=_("Batches named, if known"), max_length=500, required=False)
    description = forms.CharField(label=_("Description"), widget=TEXT)


class AnalyseForm(SignatureForm):
    scope = forms.ChoiceField(label=_("Local or general"), choices=Scope.choices, widget=forms.RadioSelect)
    analysis = forms.CharField(label=_("Analysis"), widget=TEXT)
    proposal = forms.CharField(label=_("QA's proposal"), widget=TEXT)
    field_order = ["scope", "analysis", "proposal", "password", "comment"]


class NarrowForm(SignWithReasonForm):
    batches = BatchesField(label=_("Batches to keep held"), queryset=Batch.objects.none())
    field_order = ["batches", "reason", "password", "comment"]

    def __init__(self, *args, product: Product, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batches"].queryset = Batch.objects.filter(product=product).exclude(status=Batch.Status.VOIDED)
        # Narrowing is signed: the password is part of the step; the service says so when it is missing.
        self.fields["password"].required = False


class ProposeForm(SignatureForm):
    kind = forms.ChoiceField(label=_("Voluntary or ordered"), choices=Recall.Kind.choices)
    order_reference = forms.CharField(label=_("Regulator's order reference"), max_length=200, required=False)
    recall_class = forms.ChoiceField(
        label=_("Recall class"), choices=[("", "---------"), *RecallClass.choices], required=False
    )
    reason = forms.CharField(label=_("Reason for the recall"), widget=TEXT)
    hazard_evaluation = forms.CharField(label=_("Health-hazard evaluation"), widget=TEXT)
    batches = BatchesField(label=_("Affected batches"), queryset=Batch.objects.none(), required=False)
    depth = forms.ChoiceField(label=_("Depth of the recall"), choices=Recall.Depth.choices)
    coordinator = forms.ModelChoiceField(label=_("Recall coordinator"), queryset=User.objects.none())
    qualified_person = forms.ModelChoiceField(label=_("Qualified person informed"), queryset=User.objects.none())
    plan_quantity = forms.IntegerField(label=_("Quantity to recover"), min_value=1, max_value=100_000_000)
    plan_measures = forms.CharField(label=_("Measures (organisation, scope, time limits)"), widget=TEXT)
    plan_publication = forms.CharField(label=_("How and where the recall is published"), widget=TEXT)
    plan_expected_effect = forms.CharField(label=_("Expected effect"), widget=TEXT)
    plan_target_percent = forms.DecimalField(
        label=_("Target effectiveness (%)"), min_value=0, max_value=100, max_digits=5, decimal_places=2
    )
    plan_completion_date = forms.DateField(label=_("Recovery to be complete by"), widget=DATE)
    plan_handling = forms.CharField(label=_("Handling after recovery"), widget=TEXT)
    plan_contact = forms.CharField(label=_("Contact person"), max_length=200)
    field_order = [
        "kind",
        "order_reference",
        "recall_class",
        "reason",
        "hazard_evaluation",
        "batches",
        "depth",
        "coordinator",
        "qualified_person",
        "plan_quantity",
        "plan_measures",
        "plan_publication",
        "plan_expected_effect",
        "plan_target_percent",
        "plan_completion_date",
        "plan_handling",
        "plan_contact",
        "password",
        "comment",
    ]

    def __init__(self, *args, product: Product, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batches"].queryset = Batch.objects.filter(product=product).exclude(status=Batch.Status.VOIDED)
        active = User.objects.filter(is_active=True).order_by("full_name", "username")
        self.fields["coordinator"].queryset = active.filter(groups__name=RECALL_COORDINATOR)
        self.fields["qualified_person"].queryset = active.filter(groups__name=QUALIFIED_PERSON)
        self.fields["coordinator"].label_from_instance = lambda u: u.printed_name
        self.fields["qualified_person"].label_from_instance = lambda u: u.printed_name


class PlanForm(SignWithReasonForm):
    """The recall plan revised before the quality head decides (the plan fields of ProposeForm)."""

    field_order = [*Recall.PLAN_FIELDS, "reason", "password", "comment"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in Recall.PLAN_FIELDS:
            self.fields[name] = copy.deepcopy(ProposeForm.base_fields[name])
        self.order_fields(self.field_order)


class DeadlineTableForm(Form):
    """Days of every rule of the current deadline table, and the reason for the new version."""

    reason = reason_field()

    def __init__(self, *args, rules, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rules = list(rules)
        for rule in self.rules:
            self.fields[self.key(rule)] = forms.IntegerField(
                label=f"{rule.get_recall_class_display()} · {rule.get_task_display()} ({rule.get_anchor_display()})",
                min_value=1,
                max_value=365,
                initial=rule.days,
            )
        self.order_fields([*(self.key(r) for r in self.rules), "reason"])

    @staticmethod
    def key(rule) -> str:
        return f"days_{rule.recall_class}_{rule.task}"

    def changes(self) -> dict[tuple[str, str], int]:
        return {
            (r.recall_class, r.task): self.cleaned_data[self.key(r)]
            for r in self.rules
            if self.cleaned_data[self.key(r)] != r.days
        }


class AddBatchForm(SignatureForm):
    batch = forms.ModelChoiceField(label=_("Batch to add"), queryset=Batch.objects.none())
    reason = reason_field()
    field_order = ["batch", "reason", "password"]

    def __init__(self, *args, product: Product, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = Batch.objects.filter(product=product).exclude(status=Batch.Status.VOIDED)
        self.fields["batch"].label_from_instance = lambda b: b.batch_number


class NotifyForm(Form):
    method = forms.ChoiceField(label=_("Notified by"), choices=RecallConsignee.Method.choices)
    notified_at = forms.DateTimeField(label=_("Notified at"), widget=MOMENT)


class AcknowledgeForm(Form):
    acknowledged_at = forms.DateTimeField(label=_("Acknowledged at"), widget=MOMENT)
    acknowledged_by_name = forms.CharField(label=_("Acknowledged by (name at the consignee)"), max_length=100)


class PassOnForm(Form):
    passed_on_at = forms.DateTimeField(label=_("Pass-on confirmed at"), widget=MOMENT)


class QuantitiesForm(Form):
    quantity_held = forms.IntegerField(label=_("Held at the consignee"), min_value=0, max_value=100_000_000)
    quantity_returned = forms.IntegerField(label=_("Returned"), min_value=0, max_value=100_000_000)
    quantity_used = forms.IntegerField(label=_("Used or dispensed"), min_value=0, max_value=100_000_000)
    quantity_destroyed = forms.IntegerField(label=_("Destroyed on site"), min_value=0, max_value=100_000_000)
    reason = reason_field()


class ProgressForm(Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ProgressEntry.Kind.choices)
    occurred_at = forms.DateTimeField(label=_("Date and time"), widget=MOMENT)
    text = forms.CharField(label=_("Content"), widget=TEXT)


class RecoveredGoodsForm(SignatureForm):
    batch = forms.ModelChoiceField(label=_("Batch"), queryset=Batch.objects.none())
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000_000)
    quarantine_location = forms.CharField(label=_("Quarantine location"), max_length=200)
    decision = forms.ChoiceField(label=_("Decision"), choices=RecoveredGoods.Decision.choices)
    supervisor_kind = forms.ChoiceField(
        label=_("Supervised by"), choices=[("", "---------"), *RecoveredGoods.Supervisor.choices], required=False
    )
    supervisor_name = forms.CharField(label=_("Supervisor (authority or notary)"), max_length=200, required=False)
    hazard_removed_by = forms.CharField(label=_("How the rework removes the hazard"), widget=TEXT, required=False)
    new_expiry = forms.DateField(label=_("Expiry date after rework"), widget=DATE, required=False)
    field_order = [
        "batch",
        "quantity",
        "quarantine_location",
        "decision",
        "supervisor_kind",
        "supervisor_name",
        "hazard_removed_by",
        "new_expiry",
        "password",
        "comment",
    ]

    def __init__(self, *args, recall: Recall, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = Batch.objects.filter(pk__in=recall.batches.values("batch_id"))
        self.fields["batch"].label_from_instance = lambda b: b.batch_number


class CloseForm(SignatureForm):
    effectiveness_evaluation = forms.CharField(label=_("Effectiveness evaluation"), widget=TEXT, required=False)
    outstanding_justification = forms.CharField(
        label=_("Justification of the outstanding quantity"), widget=TEXT, required=False
    )
    hold_disposition = forms.ChoiceField(
        label=_("Holds at closure"), choices=Recall.HoldDisposition.choices, widget=forms.RadioSelect
    )
    field_order = ["effectiveness_evaluation", "outstanding_justification", "hold_disposition", "password", "comment"]


class MockStartForm(Form):
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.order_by("generic_name"))
    batches = BatchesField(label=_("Batches"), queryset=Batch.objects.exclude(status=Batch.Status.VOIDED))


class MockCompleteForm(SignatureForm):
    conclusion = forms.CharField(label=_("Conclusion"), widget=TEXT, required=False)
    field_order = ["conclusion", "password", "comment"]
