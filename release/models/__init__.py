"""release models."""

from release.models.batches import (
    Batch,
    BatchHold,
    BatchQuerySet,
    BatchSizeUnit,
    ProductHold,
    batch_value_problems,
)
from release.models.designations import QPDesignation, QPDesignationQuerySet
from release.models.materials import BatchMaterial, MaterialBalance, MaterialLot, MaterialLotQuerySet, MaterialUnit
from release.models.products import DosageForm, Product, ProductQuerySet
from release.models.quality_events import ChangeControl, Deviation, EventClass, QualityEvent, QualityEventQuerySet
from release.models.reviews import (
    CHECKLIST_STAGES,
    Answer,
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateQuerySet,
    Decision,
    ImmutableModel,
    ImmutableQuerySet,
    ReleaseReview,
    ReleaseReviewQuerySet,
    ReviewStep,
    ReviewStepQuerySet,
    Stage,
    Verdict,
)

__all__ = [
    "DosageForm",
    "Product",
    "ProductQuerySet",
    "Batch",
    "BatchHold",
    "ProductHold",
    "BatchQuerySet",
    "BatchSizeUnit",
    "batch_value_problems",
    "ChangeControl",
    "Deviation",
    "EventClass",
    "QualityEvent",
    "QualityEventQuerySet",
    "Answer",
    "CHECKLIST_STAGES",
    "ChecklistItem",
    "ChecklistTemplate",
    "ChecklistTemplateQuerySet",
    "Decision",
    "ImmutableModel",
    "ImmutableQuerySet",
    "ReleaseReview",
    "ReleaseReviewQuerySet",
    "ReviewStep",
    "ReviewStepQuerySet",
    "Stage",
    "Verdict",
    "QPDesignation",
    "QPDesignationQuerySet",
    "BatchMaterial",
    "MaterialBalance",
    "MaterialLot",
    "MaterialLotQuerySet",
    "MaterialUnit",
]
