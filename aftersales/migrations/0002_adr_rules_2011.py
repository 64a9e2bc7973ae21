"""Seed the ADR reporting deadlines of 药品不良反应报告和监测管理办法 (卫生部令第81号, 2011) as rule-set
version "2011" (R-ADR-1). Confidence per sop-checklists B.6: [V] wording verified, [S] secondary —
to be confirmed by QA against the official text before relied on."""

from datetime import date

from django.db import migrations

TITLE = "药品不良反应报告和监测管理办法（卫生部令第81号）"
RULES = [
    # (applies_to, report days (0 = immediately), confidence, investigation days, confidence, citation)
    ("death", 0, "V", 15, "V", "第二十一条（死亡病例立即报告）、第二十二条（死亡病例调查报告15日内）"),
    ("new_or_serious", 15, "V", None, "", "第二十一条（新的、严重的不良反应15日内报告）"),
    ("other", 30, "V", None, "", "第二十一条（其他不良反应30日内报告）"),
    ("group", 0, "V", 7, "S", "第二十七、二十八条（群体不良事件立即报告；调查报告7日内）"),
]


def seed(apps, schema_editor):
    RuleSet = apps.get_model("aftersales", "ADRRuleSet")
    Rule = apps.get_model("aftersales", "ADRRule")
    ruleset, created = RuleSet.objects.get_or_create(
        version="2011", defaults={"title": TITLE, "effective_from": date(2011, 7, 1)}
    )
    if not created:
        return
    for applies_to, days, conf, inv_days, inv_conf, citation in RULES:
        Rule.objects.create(
            ruleset=ruleset,
            applies_to=applies_to,
            report_within_days=days,
            report_confidence=conf,
            investigation_within_days=inv_days,
            investigation_confidence=inv_conf,
            citation=citation,
        )


class Migration(migrations.Migration):
    dependencies = [("aftersales", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
