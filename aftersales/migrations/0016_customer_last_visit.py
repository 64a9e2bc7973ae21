# Issue 12: a customer's latest approved visit is stored for the visit due list. Existing
# customers are filled from their approved visits here, each change with its own audit-trail row.

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

REASON = "last approved visit stored from the customer's approved visits (migration)"


def fill_last_visit(apps, schema_editor):
    """Set each customer's latest approved visit and add a history row for each customer set, so
    the newest audit-trail row of each matches it (``core.integrity`` compares the two).
    Set-based SQL: thousands of customers at a plant's volume."""
    customer = apps.get_model("aftersales", "Customer")
    history = apps.get_model("aftersales", "HistoricalCustomer")
    visit = apps.get_model("aftersales", "CustomerVisit")
    qn = schema_editor.connection.ops.quote_name
    c_table, h_table, v_table = (qn(m._meta.db_table) for m in (customer, history, visit))
    base_cols = [f.column for f in customer._meta.concrete_fields]
    with schema_editor.connection.cursor() as cur:
        cur.execute(
            f"UPDATE {c_table} SET last_visit_at = (SELECT MAX(v.visited_at) FROM {v_table} v "  # noqa: S608
            f"WHERE v.customer_id = {c_table}.id AND v.status = 'approved')"
        )
        cols = ", ".join(qn(c) for c in base_cols)
        cur.execute(
            f"INSERT INTO {h_table} ({cols}, history_date, history_change_reason, history_type, history_user_id) "  # noqa: S608
            f"SELECT {cols}, %s, %s, '~', NULL FROM {c_table} WHERE last_visit_at IS NOT NULL ORDER BY id",
            [schema_editor.connection.ops.adapt_datetimefield_value(timezone.now()), REASON],
        )


class Migration(migrations.Migration):

    dependencies = [
        ('aftersales', '0015_list_order_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='customer',
            name='last_visit_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last approved visit'),
        ),
        migrations.AddField(
            model_name='historicalcustomer',
            name='last_visit_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last approved visit'),
        ),
        migrations.RunPython(fill_last_visit, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(fields=['status', 'last_visit_at', 'id'], name='aftersales_customer_last_visit'),
        ),
        migrations.AddIndex(
            model_name='customer',
            index=models.Index(condition=models.Q(('last_visit_at__isnull', True)), fields=['name', 'id'], name='aftersales_customer_unvisited'),
        ),
    ]
