"""Does the global audit search stay fast at any depth and table size? (issue 12 item 4)

    DATABASE_URL=postgres://…/scratch .venv/bin/python benchmarks/audit_search.py [--repeat 5]

Against a database filled by ``manage.py generate_volume``: counts the history rows, then for each
search (newest, one person, one record type and a week, a record type and a person, the cursor
100 pages down, the cursor five and nine years back) prints

- the PostgreSQL execution time of the one query that finds the page's rows in every history
  table (``EXPLAIN ANALYZE`` of the UNION ALL with per-table limits) and whether any table was
  read with a sequential scan;
- the p50 / p95 wall time of ``core.audit_trail.search_page`` (rows, predecessors, users, names:
  everything but the template) and its query count.

The first figure is the one that could grow with the tables; it is a per-table index probe, so
it grows with the number of history tables and log(rows), never with the depth.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if not os.environ.get("DATABASE_URL"):
    sys.exit("Set DATABASE_URL to the scratch database filled by generate_volume.")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from core import audit_trail  # noqa: E402
from core.audit import history_models  # noqa: E402
from core.audit_trail import Cursor, SearchFilter  # noqa: E402
from core.models import User  # noqa: E402


def _seq_scans(node: dict) -> set[str]:
    found = {node["Relation Name"]} if node.get("Node Type") == "Seq Scan" else set()
    for child in node.get("Plans", []):
        found |= _seq_scans(child)
    return found


def explain(flt: SearchFilter, cursor: Cursor | None, big: set[str]) -> tuple[float, str]:
    with CaptureQueriesContext(connection) as q:
        audit_trail._heads(flt, cursor, 51)
    sql = q.captured_queries[0]["sql"]
    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        plan = c.fetchone()[0]
    plan = plan[0] if isinstance(plan, list) else plan
    scanned = _seq_scans(plan["Plan"]) & big  # a few hundred rows are read faster without an index
    return float(plan["Execution Time"]), ", ".join(sorted(scanned)) or "no"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    total = 0
    big: set[str] = set()
    with connection.cursor() as c:
        for hm in history_models():
            c.execute(f"SELECT count(*) FROM {connection.ops.quote_name(hm._meta.db_table)}")  # noqa: S608
            rows = c.fetchone()[0]
            total += rows
            if rows > 10_000:
                big.add(hm._meta.db_table)
    print(f"{total:,} history rows in {len(history_models())} history tables; load average {os.getloadavg()[0]:.1f}")
    analyst = User.objects.get(username="qc_analyst").pk
    now = timezone.now()
    deep = None
    for _ in range(100):
        _e, deep = audit_trail.search_page(SearchFilter(), deep)
    searches = [
        ("newest", SearchFilter(), None),
        ("one person", SearchFilter(user_id=analyst), None),
        ("batches, one week", SearchFilter(record_key="release.batch", date_from=now - timedelta(days=7)), None),
        ("results, one person", SearchFilter(record_key="qc_records.testresult", user_id=analyst), None),
        ("page 100 (cursor)", SearchFilter(), deep),
        ("5 years back (cursor)", SearchFilter(), Cursor(now - timedelta(days=5 * 365), "zzz", 0)),
        ("9 years back, one person", SearchFilter(user_id=analyst), Cursor(now - timedelta(days=9 * 365), "zzz", 0)),
    ]
    print(
        f"\n{'search':28} {'heads SQL ms':>12} {'seq scan of a table > 10k rows':>9} {'page p50 ms':>12} {'p95 ms':>8} {'queries':>8} {'rows':>5}"
    )
    for name, flt, cursor in searches:
        sql_ms, seq = explain(flt, cursor, big)
        times, n, rows = [], 0, 0
        for i in range(args.repeat + 1):
            with CaptureQueriesContext(connection) as q:
                started = time.perf_counter()
                entries, _next = audit_trail.search_page(flt, cursor)
                elapsed = (time.perf_counter() - started) * 1000
            if i:
                times.append(elapsed)
            n, rows = len(q), len(entries)
        p95 = sorted(times)[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(f"{name:28} {sql_ms:12.1f} {seq:>9} {statistics.median(times):12.1f} {p95:8.1f} {n:8} {rows:5}")


if __name__ == "__main__":
    main()
