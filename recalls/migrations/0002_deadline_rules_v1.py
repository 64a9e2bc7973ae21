"""Version 1 of the recall deadline table (R-RCL-4; sop-checklists B.6), as data.

药品召回管理办法 (2022): recall notice issued, and the investigation-evaluation report, plan and notice
filed with the provincial regulator, within 1 / 3 / 7 days of the decision (class I / II / III; [S],
high confidence). Progress reports daily / every 3 / every 7 days are verified only for the 2007
measures (marked unverified here). The completion report "within 10 working days" is a recollection
(unverified; 10 calendar days, the stricter reading). Later versions are written by
``recalls.services.deadline_rule_revise`` with a reason, never by code.
"""

from django.db import migrations

BASIS_2022 = "药品召回管理办法 (2022)"
ROWS = [
    # class, task, anchor, days, verified, basis
    ("I", "notice", "decision", 1, True, BASIS_2022),
    ("II", "notice", "decision", 3, True, BASIS_2022),
    ("III", "notice", "decision", 7, True, BASIS_2022),
    ("I", "progress", "every", 1, False, "药品召回管理办法 (2007) — not verified for 2022"),
    ("II", "progress", "every", 3, False, "药品召回管理办法 (2007) — not verified for 2022"),
    ("III", "progress", "every", 7, False, "药品召回管理办法 (2007) — not verified for 2022"),
    ("I", "completion", "completion", 10, False, BASIS_2022 + " — period not verified"),
    ("II", "completion", "completion", 10, False, BASIS_2022 + " — period not verified"),
    ("III", "completion", "completion", 10, False, BASIS_2022 + " — period not verified"),
]


def add_rules(apps, schema_editor):
    DeadlineRule = apps.get_model("recalls", "DeadlineRule")
    for recall_class, task, anchor, days, verified, basis in ROWS:
        if not DeadlineRule.objects.filter(version=1, recall_class=recall_class, task=task).exists():
            DeadlineRule.objects.create(
                version=1,
                recall_class=recall_class,
                task=task,
                anchor=anchor,
                days=days,
                verified=verified,
                basis=basis,
                reason="Initial table (sop-checklists B.6)",
            )


class Migration(migrations.Migration):
    dependencies = [("recalls", "0001_initial")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
