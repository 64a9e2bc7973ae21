"""Keyed, chained signatures and the integrity check (issue 8 items 2, 3 and 4; R-SIG-3, R-AT-3, R-OPS-1)."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from core import integrity, keys
from core.models import Document, Signature, SignatureChain
from core.signatures import sign, verify_signer
from release.models import Product
from tests.core.helpers import qn
from tests.factories import PASSWORD, ProductFactory

pytestmark = pytest.mark.django_db

INVALID = "Signature invalid — record changed after signing"
VALID = "Signature valid"


def _sign(user, record, meaning=Signature.Meaning.REVIEWED) -> Signature:
    return sign(credential=verify_signer(user=user, password=PASSWORD), record=record, meaning=meaning)


def _report(limit=None) -> integrity.Report:
    with translation.override("en"):
        return integrity.run(limit=limit)


def _messages(report) -> list[str]:
    return [str(f) for f in report.findings]


def _insert_signature(**values) -> int:
    """A signature row written by raw SQL, as someone with database access would."""
    table = qn(Signature._meta.db_table)
    columns = ", ".join(qn(c) for c in values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(values))})", list(values.values())
        )
    return Signature.objects.order_by("-id").values_list("id", flat=True).first()


def _delete_bypassing_triggers(model, pk: int) -> None:
    """What a database owner can do: switch the append-only trigger off, then delete."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"DELETE FROM {qn(table)} WHERE id = %s", [pk])
            cursor.execute("SET LOCAL session_replication_role = origin")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {qn('releasedesk_no_delete_' + table)}")
            cursor.execute(f"DELETE FROM {qn(table)} WHERE id = %s", [pk])


def _forged_row(product, signer, *, key_id="", record_hash=None, previous_hash="") -> dict:
    signed_at = timezone.now()
    if record_hash is None:
        # The public formula anyone can recompute: plain SHA-256 of the signed content.
        record_hash = Signature.compute_hash(
            record=product, signer_id=signer.pk, meaning=Signature.Meaning.APPROVED, signed_at=signed_at
        )
    return {
        "signer_id": signer.pk,
        "printed_name": signer.printed_name,
        "meaning": Signature.Meaning.APPROVED,
        "signed_at": signed_at,
        "comment": "",
        "content_type_id": ContentType.objects.get_for_model(Product).pk,
        "object_id": product.pk,
        "record_label": str(product),
        "record_hash": record_hash,
        "key_id": key_id,
        "previous_hash": previous_hash,
    }


# --- keyed signatures (item 2) ------------------------------------------------------------------


def test_new_signatures_are_keyed_and_chained(qa_reviewer, draft_product):
    """R-SIG-3: a signature is an HMAC with the configured key, linked to the signature before it."""
    first = _sign(qa_reviewer, draft_product)
    second = _sign(qa_reviewer, draft_product, Signature.Meaning.APPROVED)
    assert first.key_id == keys.current_key_id() and len(first.record_hash) == 64
    assert second.previous_hash == first.record_hash
    # Not the public formula: nobody without the key can compute it.
    assert first.record_hash != Signature.compute_hash(
        record=draft_product, signer_id=qa_reviewer.pk, meaning=first.meaning, signed_at=first.signed_at
    )
    head = SignatureChain.objects.get()
    assert (head.last_signature_id, head.last_hash) == (second.pk, second.record_hash)
    assert first.is_valid() and second.is_valid()


def test_signature_forged_by_sql_with_the_public_formula_is_invalid(approved_product, users, client_for):
    """Issue 8 reproduction 5 (R-SIG-3, R-SIG-5): a row INSERTed with its hash recomputed by plain
    SHA-256 for a QP who never signed is shown as invalid and reported by the integrity check."""
    qp = users["qualified_person"]
    forged_id = _insert_signature(**_forged_row(approved_product, qp))
    forged = Signature.objects.get(pk=forged_id)
    assert not forged.is_valid()
    page = client_for(users["qa_reviewer"]).get(approved_product.get_absolute_url()).content.decode()
    assert page.count(INVALID) == 1 and VALID in page  # the real approval still verifies
    messages = _messages(_report())
    assert any(f"signature #{forged_id}" in m and "forged row" in m for m in messages), messages


def test_signature_forged_with_a_guessed_key_id_is_invalid(approved_product, users):
    """R-SIG-3: naming the current key does not help without the key itself."""
    qp = users["qualified_person"]
    row = _forged_row(approved_product, qp, key_id=keys.current_key_id(), record_hash="0" * 64)
    row["previous_hash"] = SignatureChain.objects.get().last_hash
    forged_id = _insert_signature(**row)
    assert not Signature.objects.get(pk=forged_id).is_valid()
    assert any(f"signature #{forged_id}" in m and "does not verify" in m for m in _messages(_report()))


def test_rotated_key_keeps_old_signatures_valid_while_listed(approved_product, qa_reviewer, settings):
    """R-SIG-3, R-OPS-1: after a rotation, signatures made with the old key verify while the old key is
    in SIGNATURE_KEYS_OLD, and are reported (not silently valid) once it is dropped."""
    old_key = settings.SIGNATURE_KEY
    sig = Signature.objects.for_record(approved_product).get()
    settings.SIGNATURE_KEY = "a-new-signature-key-after-rotation-0123456789"
    settings.SIGNATURE_KEYS_OLD = [old_key]
    assert sig.is_valid()
    newer = _sign(qa_reviewer, approved_product)
    assert newer.key_id != sig.key_id and newer.is_valid()
    assert _report().ok
    settings.SIGNATURE_KEYS_OLD = []
    assert not Signature.objects.get(pk=sig.pk).is_valid()
    assert any("not configured" in m and "SIGNATURE_KEYS_OLD" in m for m in _messages(_report()))


def test_legacy_unkeyed_signatures_verify_and_are_reported_as_legacy(db, users):
    """R-SIG-3: rows made by the old plain-SHA-256 formula before the upgrade still prove their record
    unchanged and are listed as legacy; an unkeyed row added after keyed signing began is a forgery."""
    SignatureChain.objects.all().delete()  # as before the upgrade's migration
    product = ProductFactory(last_changed_by=users["admin"])
    legacy_id = _insert_signature(**_forged_row(product, users["qa_reviewer"]))
    SignatureChain.objects.create(
        pk=1,
        legacy_boundary_id=legacy_id,
        last_signature_id=legacy_id,
        last_hash=Signature.objects.get(pk=legacy_id).record_hash,
    )
    assert Signature.objects.get(pk=legacy_id).is_valid()
    keyed = _sign(users["qa_reviewer"], product)
    assert keyed.previous_hash == Signature.objects.get(pk=legacy_id).record_hash
    assert SignatureChain.objects.get().legacy_seal
    report = _report()
    assert report.ok, _messages(report)
    assert any("made before keyed signing" in n for n in report.notes)
    later = _insert_signature(**_forged_row(product, users["qualified_person"]))
    assert not Signature.objects.get(pk=later).is_valid()
    assert any(f"signature #{later}" in m and "forged row" in m for m in _messages(_report()))


# --- the chain ----------------------------------------------------------------------------------


def test_a_removed_signature_breaks_the_chain(qa_reviewer, draft_product):
    """R-AT-3: a signature deleted with the trigger switched off is reported by the next one's link."""
    first, middle, last = (_sign(qa_reviewer, draft_product) for _ in range(3))
    assert _report().ok
    _delete_bypassing_triggers(Signature, middle.pk)
    messages = _messages(_report())
    assert any(f"signature #{last.pk}" in m and "chain is broken" in m for m in messages), messages


def test_a_removed_last_signature_is_reported_by_the_chain_head(qa_reviewer, draft_product):
    """R-AT-3: removing the newest signature leaves the chain head naming a row that is gone."""
    _sign(qa_reviewer, draft_product)
    last = _sign(qa_reviewer, draft_product)
    _delete_bypassing_triggers(Signature, last.pk)
    messages = _messages(_report())
    assert any("chain head names signature" in m for m in messages), messages


def _rewind_head_by_sql(to: Signature) -> None:
    """What a database owner can do with the triggers off: point the chain head row at ``to``."""
    table = SignatureChain._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"UPDATE {qn(table)} SET last_signature_id = %s, last_hash = %s WHERE id = %s",
            [to.pk, to.record_hash, SignatureChain.HEAD_PK],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def _head_line(capsys) -> str:
    with translation.override("en"):
        call_command("verify_integrity")
    out = capsys.readouterr().out
    assert "OK: no findings" in out
    line = next(line for line in out.splitlines() if "chain head:" in line)
    return line.split("chain head:")[1].split("(")[0].strip()


def test_the_printed_head_catches_a_rewound_chain_tail(qa_reviewer, draft_product, capsys):
    """R-AT-3, issue 8 item 4: the last two signatures deleted and the chain head rewound by SQL
    (triggers off) leave a chain that verifies on its own; against the head printed before and kept
    outside the database, ``verify_integrity --expect-head`` finds it and exits 1."""
    first = _sign(qa_reviewer, draft_product)
    _sign(qa_reviewer, draft_product)
    last = _sign(qa_reviewer, draft_product)
    kept = _head_line(capsys)
    assert kept == f"{Signature.objects.count()}:{last.record_hash}"
    # A later legitimate signature: the kept head is still in place, the chain grew.
    _sign(qa_reviewer, draft_product)
    with translation.override("en"):
        call_command("verify_integrity", expect_head=kept)
    assert "OK: no findings" in capsys.readouterr().out
    # Rewind: the newest two signatures gone, the head row pointed at the one before.
    for sig in Signature.objects.filter(pk__gt=first.pk + 1).order_by("-pk"):
        _delete_bypassing_triggers(Signature, sig.pk)
    _rewind_head_by_sql(Signature.objects.order_by("-pk").first())
    assert _report().ok  # undetectable from inside the database alone
    with translation.override("en"), pytest.raises(SystemExit) as exc:
        call_command("verify_integrity", expect_head=kept)
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "is no longer in the chain" in out and "head rewound" in out and f"expected head: {kept}" in out


def test_an_expected_head_at_another_position_or_malformed_is_refused(qa_reviewer, draft_product, capsys):
    """R-AT-3: the kept head's signature must sit where it sat (nothing removed before it); a
    malformed --expect-head is a usage error, not a silent pass."""
    from django.core.management.base import CommandError

    _sign(qa_reviewer, draft_product)
    last = _sign(qa_reviewer, draft_product)
    # In English whatever ran before (run alone, the check reported in the default language).
    with translation.override("en"):
        report = integrity.run(expect_head=(Signature.objects.count() + 1, last.record_hash))
        assert any("is now number" in str(f) and "removed or inserted" in str(f) for f in report.findings)
        # The same with --limit: the signature check reads only the newest rows, the head is looked up.
        report = integrity.run(limit=1, expect_head=(Signature.objects.count() + 1, last.record_hash))
        assert any("is now number" in str(f) and "removed or inserted" in str(f) for f in report.findings)
        assert integrity.run(limit=1, expect_head=(Signature.objects.count(), last.record_hash)).ok
    for bad in ("12", "x:abc", f"2:{last.record_hash[:-1]}", ""):
        with pytest.raises(CommandError, match="--expect-head"):
            call_command("verify_integrity", expect_head=bad)


# --- record state against its signatures (item 3) -----------------------------------------------


def test_product_set_to_approved_by_sql_is_reported(draft_product):
    """Issue 8 reproduction 3 (R-SIG-3): a draft product set to approved by SQL has no Approved signature."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(Product._meta.db_table)} SET status = 'approved' WHERE id = %s", [draft_product.pk])
    stored = Product.objects.get(pk=draft_product.pk)
    assert integrity.missing_signatures(stored) == [Signature.Meaning.APPROVED]
    messages = _messages(_report())
    assert any(f"#{draft_product.pk}" in m and "without a valid “Approved” signature" in m for m in messages)


def test_approved_product_with_its_signature_is_intact(approved_product):
    """R-SIG-3: the guard for the test above — the workflow's approval passes."""
    assert integrity.missing_signatures(approved_product) == []
    assert _report().ok


def test_record_changed_by_sql_after_signing_is_reported(approved_product):
    """R-SIG-3: a signed field changed by SQL breaks the signature and the approved state it supports."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(Product._meta.db_table)} SET pack_size = '1粒/瓶' WHERE id = %s", [approved_product.pk]
        )
    kinds = {f.kind for f in _report().findings}
    assert kinds == {"signature", "state"}


# --- documents and files ------------------------------------------------------------------------


def test_changed_or_missing_document_file_is_reported(qa_reviewer, tmp_path, settings):
    """R-OPS-1: an issued PDF whose stored file changed (or vanished) is a finding."""
    settings.MEDIA_ROOT = tmp_path
    product = ProductFactory(last_changed_by=qa_reviewer)
    from core.hashing import sha256_bytes

    document = Document(
        kind="test",
        version=1,
        content_type=ContentType.objects.get_for_model(Product),
        object_id=product.pk,
        record_label=str(product),
        template_name="x.html",
        context={},
        sha256=sha256_bytes(b"%PDF-1 issued"),
        size=13,
        verification_code="ABCDEFGHJKLMNPQR",
        issued_at=timezone.now(),
        issued_by=qa_reviewer,
    )
    document.file.save("doc.pdf", ContentFile(b"%PDF-1 issued"), save=False)
    document.save()
    assert _report().ok
    (tmp_path / document.file.name).write_bytes(b"%PDF-1 altered")
    assert any("differs from the one issued" in m for m in _messages(_report()))
    (tmp_path / document.file.name).unlink()
    assert any("file is missing" in m for m in _messages(_report()))


# --- the command and the page (item 4) ----------------------------------------------------------


def test_command_exits_non_zero_on_a_finding_and_prints_it(draft_product, capsys):
    """R-SIG-3: `manage.py verify_integrity` prints the report and fails the nightly job on a finding."""
    with translation.override("en"):
        call_command("verify_integrity")
    assert "OK: no findings" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(Product._meta.db_table)} SET status = 'approved' WHERE id = %s", [draft_product.pk])
    with translation.override("en"), pytest.raises(SystemExit) as exc:
        call_command("verify_integrity")
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "FINDING" in out and "2 finding(s)" in out  # no Approved signature; no audit-trail row for the change
    assert "without a valid “Approved” signature" in out and "changed without an audit-trail entry: status" in out


def test_check_reads_in_chunks_with_a_fixed_number_of_queries(qa_reviewer, monkeypatch):
    """R-SIG-3 at ten-year volume: queries grow with the number of chunks, not of signatures."""
    products = [ProductFactory(last_changed_by=qa_reviewer) for _ in range(3)]
    for product in products:
        for _ in range(4):
            _sign(qa_reviewer, product)
    monkeypatch.setattr(integrity, "CHUNK", 5)
    monkeypatch.setattr(integrity.chunks, "__kwdefaults__", {"limit": None, "size": 5})

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            integrity.check_signatures(integrity.Report())
        return len(ctx.captured_queries)

    few = queries()
    for _ in range(10):
        _sign(qa_reviewer, products[0])
    more = queries()
    # 12 → 22 signatures is 3 → 5 chunks of 5: at most 2 queries (rows + one model) per extra chunk.
    assert more - few <= 2 * 2, (few, more)


def test_integrity_page_for_qa_and_auditor_only(draft_product, users, client_for):
    """R-SIG-3, R-AT-3: QA and the auditor see the report; other roles are refused."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(Product._meta.db_table)} SET status = 'approved' WHERE id = %s", [draft_product.pk])
    for role in ("qa_reviewer", "auditor"):
        response = client_for(users[role]).get("/integrity/")
        assert response.status_code == 200
        page = response.content.decode()
        assert "2 findings: tell QA management." in page
        assert "without a valid “Approved” signature" in page
        assert "changed without an audit-trail entry: status" in page
    assert client_for(users["customer_service"]).get("/integrity/").status_code == 403


def test_superseded_signatures_cost_no_query_each(users, django_assert_num_queries):
    """R-SIG-3, R-OPS-1 at ten-year volume (issue 8 item 4): a signature superseded by a later
    audited change (an approved product changed through the application, so back to draft) was
    checked with two queries of its own. Now the audit-trail rows of a chunk are read in one
    query per model: the whole check runs the same number of queries for N and for 3N such
    signatures, still counts each one as superseded, and still reports a record changed by SQL."""
    from release import services as release_services

    qa = users["qa_reviewer"]

    def approve_then_change(n: int) -> None:
        for _ in range(n):
            product = ProductFactory(last_changed_by=users["admin"])
            release_services.product_approve(product=product, user=qa, password=PASSWORD)
            release_services.product_update(product=product, user=qa, data={"strength": "0.5g"}, reason="规格变更")

    def run_counted() -> tuple[integrity.Report, int]:
        with CaptureQueriesContext(connection) as ctx:
            report = _report()
        return report, len(ctx.captured_queries)

    approve_then_change(3)
    _report()  # the content types are cached from here on, as during a nightly run
    report, few = run_counted()
    assert report.ok, _messages(report)
    assert report.checked["of them superseded by a later audited change"] == 3
    approve_then_change(6)
    with django_assert_num_queries(few):
        report = _report()
    assert report.ok, _messages(report)
    assert report.checked["signatures"] == 9
    assert report.checked["of them superseded by a later audited change"] == 9

    # Among them, one changed by SQL after the audited change: its approval is no longer
    # superseded (its content now differs from its newest audit-trail row) but reported.
    tampered = Product.objects.order_by("pk").last()
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {qn(Product._meta.db_table)} SET strength = '5g' WHERE id = %s", [tampered.pk])
    report, _count = run_counted()
    label = Signature.objects.for_record(tampered).get(meaning="approved").record_label
    assert report.checked["of them superseded by a later audited change"] == 8
    assert any(
        f"on {label})" in message and "does not verify: the record was changed after signing" in message
        for message in _messages(report)
    ), _messages(report)
    assert any("changed without an audit-trail entry: strength" in m for m in _messages(report)), _messages(report)


def test_queries_per_chunk_do_not_grow_with_the_records(users, monkeypatch):
    """R-SIG-3, R-OPS-1 at ten-year volume (issue 8 item 4): the whole check costs a fixed number
    of queries per chunk of signatures and per chunk of records in a status that needs a signature
    (approved products here), and none per record otherwise: unsigned drafts are compared with
    their newest audit-trail row by the database, one query per model whatever their number.
    Three times the records in every group: exactly two queries more per extra chunk."""
    from release import services as release_services

    qa = users["qa_reviewer"]
    monkeypatch.setattr(integrity, "CHUNK", 5)
    monkeypatch.setattr(integrity.chunks, "__kwdefaults__", {"limit": None, "size": 5})

    def add(approved: int, drafts: int) -> None:
        for _ in range(approved):
            product = ProductFactory(last_changed_by=users["admin"])
            release_services.product_approve(product=product, user=qa, password=PASSWORD)
        for _ in range(drafts):
            ProductFactory(last_changed_by=users["admin"])

    def counted() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as whole:
            report = _report()
        assert report.ok, _messages(report)
        with CaptureQueriesContext(connection) as state:
            integrity.check_signed_state(integrity.Report())
        return len(whole.captured_queries), len(state.captured_queries)

    add(approved=4, drafts=4)  # 4 signatures, 4 approved products: one chunk of each
    _report()  # the content types are cached from here on, as during a nightly run
    whole, state = counted()
    add(approved=8, drafts=40)  # 12 signatures, 12 approved products: three chunks of each; 44 drafts
    more_whole, more_state = counted()
    # The state check: two more chunks of approved products, two queries each (rows, signatures);
    # the 40 more drafts cost nothing.
    assert more_state - state == 2 * 2, (state, more_state)
    # The whole check: that, and two more chunks of signatures (rows, their records).
    assert more_whole - whole == 2 * 2 + 2 * 2, (whole, more_whole)
