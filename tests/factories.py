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
