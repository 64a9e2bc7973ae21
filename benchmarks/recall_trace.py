"""How long does the consignee trace of one batch take with many distribution records? (R-RCL-3)

    DEBUG=1 .venv/bin/python manage.py seed_demo
    DEBUG=1 .venv/bin/python manage.py create_trace_volume --records 1000000 --batches 1000 --customers 300
    DEBUG=1 .venv/bin/python benchmarks/recall_trace.py [RUNS]

Times ``aftersales.for_recalls.consignees([batch])`` — the list a recall starts from — for the
batch with the most distribution records, RUNS times (default 20), and prints the number of
distribution records in the database, the rows and queries of one trace, and the median and
worst time. Uses the database of DATABASE_URL (SQLite file by default).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from aftersales.for_recalls import consignees  # noqa: E402
from aftersales.models import Shipment  # noqa: E402


def main(runs: int) -> None:
    total = Shipment.objects.count()
    top = Shipment.objects.values("batch_id").annotate(n=Count("id")).order_by("-n").first()
    if not top:
        print("no distribution records: run create_trace_volume first")
        return
    batch_id = top["batch_id"]
    with CaptureQueriesContext(connection) as ctx:
        rows = consignees([batch_id])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        consignees([batch_id])
        times.append(time.perf_counter() - start)
    print(f"database: {connection.vendor}")
    print(f"distribution records: {total:,}")
    print(f"batch traced: {batch_id} ({top['n']:,} distribution records → {len(rows)} consignee rows)")
    print(f"queries per trace: {len(ctx.captured_queries)}")
    print(
        f"trace time: median {statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms over {runs} runs"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
