"""Is every page fast at a plant's ten-year volume? (issue 12 item 2)

    DATABASE_URL=postgres://…/scratch .venv/bin/python benchmarks/pages.py [--repeat 10] [--only batch]
                                                                         [--budgets benchmarks/budgets.toml]

Run it against a scratch database filled by ``manage.py seed_demo`` and ``manage.py generate_volume``
(never a production database: it signs in as the demo users). For every page it signs in as the
role that uses it (the demo users, username = role), requests the page ``--repeat`` times after one
warm-up, and prints the p50 / p95 server time (the whole Django request in this process:
middleware, view, queries, template) and the number of queries of one request. The repetitions
are made in rounds, each requesting every page once, so a pause of the machine (another process,
the host) lands on one repetition of many pages rather than on many repetitions of one. Exports are streamed: it prints
the time to the first byte, the time to read the whole export (or the first ``--export-limit``
megabytes of it), the bytes read and the queries per 1,000 lines; the first byte is the median of three
requests (two closed after their first chunk).

``--save FILE`` writes each page's figures as JSON; ``--compare FILE`` prints, beside each page,
its p50 and queries in that earlier run and the ratio of the p50s. Run once against a database
holding only ``seed_demo``'s records and once at scale 1.0: a page whose time or query count grows
with ten years of data shows it, one that costs as much on ten batches as on 100,000 does not.

It exits 1 when a page is over its budget (``budgets.toml`` beside this file: p95, queries,
first byte), answers anything but 200, or an export does not stream, so a person can run it
before a release; 2 instead of 1 when the CPU check read slower than a quiet machine of the class
(``[host]`` there): such a run shows the host, not the code, and is to be repeated. It is not part of the test suite, which keeps its query-count tests.

Only reads. Needs PostgreSQL for meaningful figures (SQLite works, for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
if not os.environ.get("DATABASE_URL"):
    sys.exit("Set DATABASE_URL to the scratch database filled by generate_volume.")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Measured as deployed (DEBUG off: no query log, cached templates). These keys are for the scratch
# database only; signatures made by generate_volume with the DEBUG key show "invalid" unless the
# same SIGNATURE_KEY is given, which costs the same.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("SIGNATURE_KEY", "insecure-development-signature-key-do-not-use-in-production")
os.environ.setdefault("SITE_URL", "http://localhost:8000")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# No collectstatic for a benchmark: static URLs unhashed (whitenoise serves nothing here anyway).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.models import User  # noqa: E402


@dataclass
class Page:
    name: str
    role: str
    url: Callable[[], str | None]  # None: nothing of that kind in the database, skipped
    export: bool = False


def _latest(label: str, **filters) -> int | None:
    from django.apps import apps

    model = apps.get_model(label)
    return model._base_manager.filter(**filters).order_by("-pk").values_list("pk", flat=True).first()


def _url(name: str, *args, query: str = "") -> Callable[[], str | None]:
    def build() -> str | None:
        resolved = []
        for a in args:
            value = a() if callable(a) else a
            if value is None:
                return None
            resolved.append(value)
        return reverse(name, args=resolved) + (f"?{query}" if query else "")

    return build


def _pk(label: str, **filters) -> Callable[[], int | None]:
    return lambda: _latest(label, **filters)


def _review_batch(**filters) -> Callable[[], int | None]:
    """The batch of the newest release review in that state (the page is the batch's)."""

    def find() -> int | None:
        from release.models import ReleaseReview

        return ReleaseReview._base_manager.filter(**filters).order_by("-pk").values_list("batch_id", flat=True).first()

    return find


def _week() -> str:
    end = timezone.localdate()
    return f"date_from={(end - timedelta(days=7)).isoformat()}&date_to={end.isoformat()}"


def _audit_deep() -> str | None:
    """The audit search 100 pages down (the cursor of the 5,000th newest change)."""
    from core import audit_trail

    cursor = None
    for _ in range(100):
        _entries, cursor = audit_trail.search_page(audit_trail.SearchFilter(), cursor)
        if cursor is None:
            return None
    return reverse("core:audit_search") + "?after=" + cursor.encode()


def _shipments_of(field: str, column: str) -> str | None:
    """The shipment list filtered by the batch number, customer or product of a shipment in the
    middle of the table (typed, as a person would: the whole batch number, part of a name)."""
    from aftersales.models import Shipment

    pk = _latest("aftersales.Shipment")
    if pk is None:
        return None
    value = Shipment.objects.filter(pk__lte=pk // 2).order_by("-pk").values_list(column, flat=True).first() or ""
    text = value if field == "batch" else value[:4]
    return reverse("aftersales:shipment_list") + "?" + urlencode({field: text})


PAGES: list[Page] = [
    # core
    Page("my work, QC analyst", "qc_analyst", _url("core:my_work")),
    Page("my work, QA reviewer", "qa_reviewer", _url("core:my_work")),
    Page("my work, QP", "qualified_person", _url("core:my_work")),
    Page("my work, customer service", "customer_service", _url("core:my_work")),
    Page("my work, QC reviewer", "qc_reviewer", _url("core:my_work")),
    Page("my work, QC head", "qc_head", _url("core:my_work")),
    Page("my work, production reviewer", "production_reviewer", _url("core:my_work")),
    Page("my work, customer service manager", "cs_manager", _url("core:my_work")),
    Page("my work, quality head", "quality_head", _url("core:my_work")),
    Page("my work, recall coordinator", "recall_coordinator", _url("core:my_work")),
    Page("audit search, newest", "auditor", _url("core:audit_search")),
    Page("audit search, one user", "auditor", _url("core:audit_search", query="user=qc_analyst")),
    Page(
        "audit search, one type + week",
        "auditor",
        _url("core:audit_search", query="record_type=release.batch&" + _week()),
    ),
    Page("audit search, page 100", "auditor", _audit_deep),
    Page(
        "record history, batch",
        "auditor",
        lambda: reverse("core:record_history", args=["release.batch", _latest("release.Batch")]),
    ),
    Page("audit CSV, one week", "auditor", _url("core:audit_export", query=_week()), export=True),
    # release
    Page("product list", "qa_reviewer", _url("release:product_list")),
    Page("batch list", "qa_reviewer", _url("release:batch_list")),
    Page("batch list, by number", "qa_reviewer", _url("release:batch_list", query="q=V4242")),
    Page("batch list, released", "qa_reviewer", _url("release:batch_list", query="status=released")),
    Page("batch detail", "qa_reviewer", _url("release:batch_detail", _pk("release.Batch"))),
    Page(
        "release review, waiting for the QP",
        "qualified_person",
        _url("release:batch_review", _review_batch(status="qp")),
    ),
    Page(
        "release review, released", "qualified_person", _url("release:batch_review", _review_batch(status="released"))
    ),
    Page("material lot list", "qa_reviewer", _url("release:materiallot_list")),
    Page("material lot list, text search", "qa_reviewer", _url("release:materiallot_list", query="q=V4242")),
    Page("material lot detail", "qa_reviewer", _url("release:materiallot_detail", _pk("release.MaterialLot"))),
    Page("QP designation list", "admin", _url("release:designation_list")),
    Page("product detail", "qa_reviewer", _url("release:product_detail", _pk("release.Product"))),
    Page("release register", "qualified_person", _url("release:register")),
    Page("release register CSV", "qualified_person", _url("release:register_csv"), export=True),
    # qc_records
    Page("QC overview", "qc_head", _url("qc_records:index")),
    Page("sample list", "qc_analyst", _url("qc_records:sample_list")),
    Page("sample list, waiting", "qc_analyst", _url("qc_records:sample_list", query="waiting=on")),
    Page("sample list, text search", "qc_analyst", _url("qc_records:sample_list", query="q=V4242")),
    Page("specification list", "qc_head", _url("qc_records:spec_list")),
    Page("instrument list", "qc_head", _url("qc_records:instrument_list")),
    Page("record detail", "qc_reviewer", _url("qc_records:record_detail", _pk("qc_records.TestRecord"))),
    Page("record history", "qc_reviewer", _url("qc_records:record_history", _pk("qc_records.TestRecord"))),
    # The reviewer's everyday page: a submitted record, with the review form and its checks.
    Page(
        "record detail, submitted",
        "qc_reviewer",
        _url("qc_records:record_detail", _pk("qc_records.TestRecord", status="submitted")),
    ),
    Page("batch QC", "qa_reviewer", _url("qc_records:batch_qc", _pk("release.Batch"))),
    Page("sample detail", "qc_analyst", _url("qc_records:sample_detail", _pk("qc_records.Sample"))),
    Page("specification detail", "qc_head", _url("qc_records:spec_detail", _pk("qc_records.Specification"))),
    Page("instrument detail", "qc_head", _url("qc_records:instrument_detail", _pk("qc_records.Instrument"))),
    Page("reagent list", "qc_head", _url("qc_records:reagent_list")),
    Page("OOS list", "qc_head", _url("qc_records:oos_list")),
    Page("OOS detail", "qc_head", _url("qc_records:oos_detail", _pk("qc_records.OOSInvestigation"))),
    # aftersales
    Page("customer list", "customer_service", _url("aftersales:customer_list")),
    Page("complaint list", "customer_service", _url("aftersales:complaint_list")),
    Page("shipment list", "customer_service", _url("aftersales:shipment_list")),
    Page("shipment list, by batch", "customer_service", lambda: _shipments_of("batch", "batch_number")),
    Page("shipment list, by customer", "customer_service", lambda: _shipments_of("customer", "consignee_name")),
    Page("shipment list, by product", "customer_service", lambda: _shipments_of("product", "generic_name")),
    Page("shipment detail", "customer_service", _url("aftersales:shipment_detail", _pk("aftersales.Shipment"))),
    Page("shipment import form", "sales", _url("aftersales:shipment_import")),
    Page("shipment CSV", "customer_service", _url("aftersales:shipment_csv"), export=True),
    Page("customer detail", "customer_service", _url("aftersales:customer_detail", _pk("aftersales.Customer"))),
    Page("feedback list", "customer_service", _url("aftersales:feedback_list")),
    Page("feedback list, text search", "customer_service", _url("aftersales:feedback_list", query="q=V42")),
    Page("feedback detail", "customer_service", _url("aftersales:feedback_detail", _pk("aftersales.Feedback"))),
    Page("complaint detail", "customer_service", _url("aftersales:complaint_detail", _pk("aftersales.Complaint"))),
    Page("ADR list", "customer_service", _url("aftersales:adr_list")),
    Page("ADR detail", "customer_service", _url("aftersales:adr_detail", _pk("aftersales.ADRCase"))),
    Page("visit list", "customer_service", _url("aftersales:visit_list")),
    Page("return list", "customer_service", _url("aftersales:return_list")),
    Page("return detail", "qa_reviewer", _url("aftersales:return_detail", _pk("aftersales.GoodsReturn"))),
    # recalls
    Page("recall list", "recall_coordinator", _url("recalls:recall_list")),
    Page("recall detail", "recall_coordinator", _url("recalls:recall_detail", _pk("recalls.Recall"))),
    Page(
        "recall information detail",
        "recall_coordinator",
        _url("recalls:information_detail", _pk("recalls.RecallInformation")),
    ),
    Page(
        "recall consignee CSV", "recall_coordinator", _url("recalls:consignee_csv", _pk("recalls.Recall")), export=True
    ),
]


class QueryCounter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def request_once(client: Client, url: str) -> tuple[int, float, int]:
    """(status, milliseconds, queries) of one request, a streamed body read to its end."""
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    return response.status_code, (time.perf_counter() - started) * 1000, counter.n


def measure_pages(targets: list[tuple[Client, str]], repeat: int) -> list[dict]:
    """Each page's p50 / p95 over ``repeat`` requests after one warm-up, measured in rounds: a round
    requests every page once, so a pause of the machine (another process, the host) lands on one
    repetition of many pages instead of many repetitions of one page."""
    results = []
    for client, url in targets:  # the warm-up (caches): its queries include first-use lookups
        status, _ms, queries = request_once(client, url)
        results.append({"status": status, "queries": queries, "times": []})
    for _round in range(repeat):
        for (client, url), r in zip(targets, results, strict=True):
            if r["status"] == 200:
                r["status"], ms, r["queries"] = request_once(client, url)
                r["times"].append(ms)
    for r in results:
        times = r.pop("times")
        r["p50"] = statistics.median(times) if times else 0
        r["p95"] = _pct(times, 0.95) if times else 0
    return results


def first_byte_ms(client: Client, url: str) -> float:
    """Milliseconds to the first chunk of an export (the request closed right after it)."""
    started = time.perf_counter()
    response = client.get(url)
    if getattr(response, "streaming", False):
        next(iter(response.streaming_content), b"")
    elapsed = (time.perf_counter() - started) * 1000
    close = getattr(response, "close", None)
    if close:
        close()
    return elapsed


def measure_export(client: Client, url: str, limit_mb: float, tries: int = 3) -> dict:
    """One export read to its end (or ``limit_mb``): bytes, lines, queries, time; its first byte is
    the median of that read and ``tries - 1`` more requests closed after their first chunk, so one
    pause of the machine does not decide the budget."""
    firsts = [first_byte_ms(client, url) for _ in range(tries - 1)]
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        response = client.get(url)
        streaming = getattr(response, "streaming", False)
        first = None
        size = lines = 0
        if streaming:
            for chunk in response.streaming_content:
                if first is None:
                    first = time.perf_counter() - started
                size += len(chunk)
                lines += chunk.count(b"\n")
                if size > limit_mb * 1_000_000:
                    break
        else:
            first = time.perf_counter() - started
            size = len(response.content)
            lines = response.content.count(b"\n")
        total = time.perf_counter() - started
        close = getattr(response, "close", None)
        if close:
            close()
    firsts.append((first or total) * 1000)
    return {
        "status": response.status_code,
        "streaming": streaming,
        "first_ms": statistics.median(firsts),
        "total_s": total,
        "bytes": size,
        "lines": lines,
        "queries": counter.n,
        "per_1000": counter.n / max(1, lines) * 1000,
        "cut": size > limit_mb * 1_000_000,
    }


def _compared(r: dict, before: dict | None) -> str:
    """The earlier run's p50 and queries of a page (``--compare``) and how many times slower it is now."""
    if not before:
        return f"  {'—':>8} {'—':>6} {'':>6}"
    ratio = f"{r['p50'] / before['p50']:6.2f}" if before["p50"] else f"{'—':>6}"
    return f"  {before['p50']:8.1f} {before['queries']:6} {ratio}"


def cpu_check() -> float:
    """Milliseconds for a fixed pure-Python loop, the fastest of three. On the 2-core machines here
    the same loop's time moves by half or more within minutes when the host is busy: page figures
    are only comparable between runs whose checks are close (printed before and after the run), and
    even then not always: the loop stays in the processor's cache, a page does not."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


def main() -> int:
    import config.wsgi  # noqa: F401  as deployed: the WSGI module freezes the start-up heap (gc.freeze)

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--only", default="", help="run the pages whose name contains this text")
    parser.add_argument("--budgets", default=str(HERE / "budgets.toml"))
    parser.add_argument("--export-limit", type=float, default=20.0, help="megabytes of each export to read")
    parser.add_argument("--save", default="", help="write each page's figures to this JSON file")
    parser.add_argument("--compare", default="", help="a file written by --save: print its figures beside these")
    args = parser.parse_args()
    base: dict[str, dict] = json.loads(Path(args.compare).read_text(encoding="utf-8")) if args.compare else {}
    budgets = tomllib.loads(Path(args.budgets).read_text(encoding="utf-8"))
    default, exports, per_page = budgets["page"], budgets["export"], budgets.get("pages", {})

    before = cpu_check()
    print(
        f"database: {connection.vendor} {connection.settings_dict.get('NAME')}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (figures are only comparable at a low one); "
        f"CPU check {before:.0f} ms"
    )
    from django.apps import apps

    for label in ("release.Batch", "qc_records.TestResult", "aftersales.Shipment", "core.Signature"):
        print(f"  {label}: {apps.get_model(label)._base_manager.count():,} rows")
    clients: dict[str, Client] = {}
    failures = timing_only = 0  # pages over budget; of those, over only in time
    chosen = []  # (page, url, client), in the order printed
    for page in PAGES:
        if args.only and args.only not in page.name:
            continue
        url = page.url()
        client = clients.get(page.role)
        if client is None:
            user = User.objects.get(username=page.role)
            client = clients[page.role] = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
            client.force_login(user)
        chosen.append((page, url, client))
    interactive = [(page, url, client) for page, url, client in chosen if url is not None and not page.export]
    measured = dict(
        zip(
            [page.name for page, _url, _client in interactive],
            measure_pages([(client, url) for _page, url, client in interactive], args.repeat),
            strict=True,
        )
    )
    saved: dict[str, dict] = {}
    print(
        f"\n{'page':38} {'p50 ms':>8} {'p95 ms':>8} {'budget':>7} {'queries':>8} {'max q':>6}  result"
        + (f"  {'base p50':>8} {'base q':>6} {'× p50':>6}" if base else "")
    )
    for page, url, client in chosen:
        if url is None:
            print(f"{page.name:38} skipped: nothing of that kind in the database")
            continue
        budget = {**default, **per_page.get(page.name, {})}
        if page.export:
            r = measure_export(client, url, args.export_limit)
            sound = (
                r["status"] == 200
                and r["streaming"]
                # Per 1,000 lines once there are that many (a 3-line export's fixed queries are fine).
                and (r["lines"] < 1000 or r["per_1000"] <= exports["queries_per_1000_lines"])
            )
            ok = sound and r["first_ms"] <= exports["first_byte_ms"]
            failures += not ok
            timing_only += sound and not ok
            note = (
                f"{r['bytes'] / 1e6:.1f} MB, {r['lines']:,} lines{' (cut)' if r['cut'] else ''} in {r['total_s']:.1f} s"
            )
            print(
                f"{page.name:38} first byte {r['first_ms']:.0f} ms (≤{exports['first_byte_ms']}), "
                f"{r['queries']} queries ({r['per_1000']:.1f}/1000 lines), {note}"
                f"{'' if r['streaming'] else ', NOT STREAMED'}  {'ok' if ok else 'OVER'}"
                + ("" if r["status"] == 200 else f" HTTP {r['status']}")
            )
            continue
        r = measured[page.name]
        sound = r["status"] == 200 and r["queries"] <= budget["queries"]
        ok = sound and r["p95"] <= budget["p95_ms"]
        failures += not ok
        timing_only += sound and not ok
        if r["status"] == 200:  # a refused or failed page is no baseline
            saved[page.name] = {"p50": r["p50"], "p95": r["p95"], "queries": r["queries"]}
        print(
            f"{page.name:38} {r['p50']:8.1f} {r['p95']:8.1f} {budget['p95_ms']:7} {r['queries']:8} "
            f"{budget['queries']:6}  {'ok  ' if ok else 'OVER'}"
            + (_compared(r, base.get(page.name)) if base else "")
            + ("" if r["status"] == 200 else f" HTTP {r['status']}")
        )
    after = cpu_check()
    if args.save:
        saved["_cpu_check_ms"] = {"before": before, "after": after}
        Path(args.save).write_text(json.dumps(saved, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"\nCPU check after the run: {after:.0f} ms")
    if base.get("_cpu_check_ms"):
        was = base["_cpu_check_ms"]
        print(f"CPU check of the compared run: {was['before']:.0f} → {was['after']:.0f} ms (compare only when close)")
    print(f"\n{failures} page(s) over budget" if failures else "\nevery page within budget")
    return verdict(failures, timing_only, before, after, budgets.get("host", {}).get("cpu_check_ms"))


def verdict(failures: int, timing_only: int, before: float, after: float, reference: float | None) -> int:
    """The exit status: 0 every page within budget, 1 some over, 2 when every page over is over
    only in time while the CPU check read slower than the machine class's (``budgets.toml
    [host]``): the host, not the code, may have made them slow — the run says so and is not a
    judgement. Query counts, answers and streaming do not depend on the host: over in those is 1
    on any machine. Within budget on a slow host passes: a quiet one is faster."""
    if not failures:
        return 0
    if failures == timing_only and reference and max(before, after) > reference:
        print(
            f"not judged: the CPU check read {before:.0f} / {after:.0f} ms, slower than a quiet machine of the "
            f"class (≤ {reference:.0f} ms): run again when it reads ≤ {reference:.0f} ms"
        )
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
