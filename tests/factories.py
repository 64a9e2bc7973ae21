"""factory_boy factories, valid by default. Workflow states come from services, not factories."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from core.models import User
from release.models import Batch, DosageForm, Product

PASSWORD = "Correct-Horse-42!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试用户{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def roles(self, create: bool, extracted, **kwargs) -> None:
        self.save()
        if create and extracted:
            for role in extracted:
                self.groups.add(Group.objects.get(name=role))


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"测试胶囊{n}")
    generic_name = factory.LazyAttribute(lambda p: f"{p.name} Test Capsules")
    dosage_form = DosageForm.CAPSULE
    strength = "0.25g"
    pack_size = "12粒×2板/盒"
    approval_number = factory.Sequence(lambda n: f"国药准字H2{n:07d}")
    shelf_life_months = 24
    storage_conditions = "密封保存"
    mah = "示例制药有限公司"
    manufacturer = "示例制药有限公司"
    last_changed_by = factory.SubFactory(UserFactory)


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    product = factory.SubFactory(ProductFactory, status=Product.Status.APPROVED)
    batch_number = factory.Sequence(lambda n: f"T{n:07d}")
    batch_size = Decimal("100000")
    batch_size_unit = "capsules"
    manufacture_date = date(2026, 10, 1)
    expiry_date = date(2028, 9, 30)
    site = "固体制剂车间一"
    last_changed_by = factory.SubFactory(UserFactory)


# --- qc_records -------------------------------------------------------------------------------------
# Registers (instruments, reagents) have no workflow; specifications, samples and records get
# their states through qc_records.services (see tests/qc_records/conftest.py).


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "qc_records.Instrument"

    code = factory.Sequence(lambda n: f"QC-INS-{n:03d}")
    name = "高效液相色谱仪"
    model = "Agilent 1260 Infinity II"
    location = "QC 仪器室"
    last_calibrated = factory.LazyFunction(lambda: date.today().replace(day=1))
    calibration_due = date(2099, 12, 31)
    last_changed_by = factory.SubFactory(UserFactory)


class ReagentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "qc_records.Reagent"

    kind = "reference_standard"
    name = "阿莫西林对照品"
    lot_number = factory.Sequence(lambda n: f"1304-{n:04d}")
    source = "中国食品药品检定研究院"
    concentration = "86.4%"
    received_date = date(2026, 1, 5)
    expiry_date = date(2099, 12, 31)
    last_changed_by = factory.SubFactory(UserFactory)
