"""The roles of DESIGN.md as groups. Their permissions are assigned after every migrate
(core.apps), because permissions of later apps do not exist yet at this point."""

from django.db import migrations

ROLES = [
    "production_reviewer", "qc_analyst", "qc_reviewer", "qc_head", "qa_reviewer",
    "qualified_person", "customer_service", "auditor", "admin",
]


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
