"""Electronic signatures: password re-entry, manifestation, hash binding, immutability (R-SIG-1…5)."""

from __future__ import annotations

import copy
import dataclasses
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from core import signatures as core_signatures
from core.audit import AuditError
from core.models import AuthEvent, Signature, User
from core.roles import ADMIN, QA_REVIEWER
from core.signatures import SignatureError, SigningCredential, sign, signatures_for, verify_signer
from release.models import Product
from tests.core.helpers import login, qn, raw_sql_refused
from tests.factories import PASSWORD, ProductFactory

pytestmark = pytest.mark.django_db

INVALID = "Signature invalid — record changed after signing"
VALID = "Signature valid"


def _sign(user: User, record, meaning: str = Signature.Meaning.REVIEWED) -> Signature:
    return sign(credential=verify_signer(user=user, password=PASSWORD), record=record, meaning=meaning)


# --- R-SIG-1 every signature re-asks the password -----------------------------------------------


def test_sign_with_a_fresh_credential_writes_a_valid_signature(qa_reviewer, draft_product):
    """R-SIG-1: the happy path the refusals below are measured against."""
    sig = _sign(qa_reviewer, draft_product)
    assert sig.signer == qa_reviewer and sig.is_valid()
    assert list(Signature.objects.for_record(draft_product)) == [sig]


@pytest.mark.parametrize("credential", [None, PASSWORD, "token", object()])
def test_sign_without_a_credential_is_refused(credential, draft_product):
    """R-SIG-1: sign() needs the proof of a password check, not a password or anything else."""
    with pytest.raises(SignatureError):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.REVIEWED)
    assert not Signature.objects.exists()


def test_hand_made_credential_is_refused(qa_reviewer, draft_product):
    """R-SIG-1: a SigningCredential built in code, without verify_signer(), signs nothing."""
    with pytest.raises(SignatureError):
        sign(credential=SigningCredential(user=qa_reviewer), record=draft_product, meaning=Signature.Meaning.REVIEWED)
    assert not Signature.objects.exists()


def test_credential_signs_only_once(qa_reviewer, draft_product):
    """R-SIG-1: each signature needs the password again — also for a copy of the credential."""
    credential = verify_signer(user=qa_reviewer, password=PASSWORD)
    spare = copy.copy(credential)
    sign(credential=credential, record=draft_product, meaning=Signature.Meaning.REVIEWED)
    with pytest.raises(SignatureError):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.APPROVED)
    with pytest.raises(SignatureError):
        sign(credential=spare, record=draft_product, meaning=Signature.Meaning.APPROVED)
    with pytest.raises(SignatureError):
        sign(
            credential=dataclasses.replace(credential, used=False),
            record=draft_product,
            meaning=Signature.Meaning.APPROVED,
        )
    assert Signature.objects.count() == 1


def test_stale_credential_is_refused(qa_reviewer, draft_product, monkeypatch):
    """R-SIG-1: the password check belongs to the request that asked for it."""
    credential = verify_signer(user=qa_reviewer, password=PASSWORD)
    monkeypatch.setattr(core_signatures, "CREDENTIAL_LIFETIME", timedelta(0))
    with translation.override("en"), pytest.raises(SignatureError, match="expired"):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.REVIEWED)
    assert not Signature.objects.exists()


def test_backdating_or_refreshing_a_credential_is_refused(qa_reviewer, draft_product):
    """R-SIG-1: the time of the password check is the one recorded when it was made."""
    credential = verify_signer(user=qa_reviewer, password=PASSWORD)
    credential.verified_at = timezone.now() + timedelta(minutes=10)
    with pytest.raises(SignatureError):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.REVIEWED)
    assert not Signature.objects.exists()


def test_wrong_password_is_refused_counted_and_audited(qa_reviewer):
    """R-SIG-1: a wrong signing password counts like a failed sign-in and is audited."""
    with pytest.raises(SignatureError):
        verify_signer(user=qa_reviewer, password="not-my-password")
    with pytest.raises(SignatureError):
        verify_signer(user=qa_reviewer, password="")
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.failed_login_count == 2
    events = AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.SIGNATURE_FAILED)
    assert events.count() == 2


def test_correct_signing_password_resets_the_count(qa_reviewer):
    """R-SIG-1: like sign-in, the lockout counts wrong passwords in a row."""
    with pytest.raises(SignatureError):
        verify_signer(user=qa_reviewer, password="nope")
    verify_signer(user=qa_reviewer, password=PASSWORD)
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.failed_login_count == 0


def test_wrong_signing_passwords_lock_the_account(qa_reviewer, draft_product, client_for):
    """R-SIG-1, R-AUTH-3: lockout is reached through signing too, then nothing works with the password."""
    client = client_for(qa_reviewer)
    url = reverse("release:product_approve", args=[draft_product.pk])
    for _ in range(settings.LOCKOUT_THRESHOLD - 1):
        assert client.post(url, {"approve-password": "wrong"}).status_code == 400
    qa_reviewer.refresh_from_db()
    assert not qa_reviewer.is_locked
    response = client.post(url, {"approve-password": "wrong"})
    assert "locked" in response.content.decode()
    qa_reviewer.refresh_from_db()
    assert qa_reviewer.is_locked
    assert (
        AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.SIGNATURE_FAILED).count()
        == settings.LOCKOUT_THRESHOLD
    )
    assert AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.LOCKED).count() == 1

    with pytest.raises(SignatureError):
        verify_signer(user=qa_reviewer, password=PASSWORD)
    assert AuthEvent.objects.filter(user=qa_reviewer, kind=AuthEvent.Kind.SIGNATURE_REFUSED).exists()
    assert login(client.__class__(), qa_reviewer.username, PASSWORD).status_code == 200
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT
    assert not Signature.objects.exists()


def test_credential_of_a_person_locked_since_is_refused(qa_reviewer, draft_product):
    """R-SIG-1: an account locked between the password check and the signature cannot sign."""
    credential = verify_signer(user=qa_reviewer, password=PASSWORD)
    qa_reviewer.locked_at = timezone.now()
    qa_reviewer.save()
    with pytest.raises(SignatureError):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.REVIEWED)


# --- R-SIG-2 manifestation ------------------------------------------------------------------------


def test_product_page_shows_printed_name_meaning_and_time_with_zone(approved_product, qa_reviewer, client_for):
    """R-SIG-2: printed full name, meaning and local date/time with its time zone on screen."""
    sig = Signature.objects.for_record(approved_product).get()
    page = client_for(qa_reviewer).get(approved_product.get_absolute_url()).content.decode()
    local = timezone.localtime(sig.signed_at)
    assert sig.printed_name == qa_reviewer.full_name
    assert qa_reviewer.full_name in page
    assert "Approved" in page
    offset = local.strftime("%z")
    # The offset ("UTC+08:00"), not the ambiguous abbreviation "CST".
    assert f"{local.strftime('%Y-%m-%d %H:%M:%S')} UTC{offset[:3]}:{offset[3:]}" in page
    assert settings.TIME_ZONE in page
    assert VALID in page and INVALID not in page


def test_printed_name_is_frozen_at_signing(approved_product, qa_reviewer, client_for):
    """R-SIG-2: a later change of the person's name does not rewrite past signatures."""
    old_name = qa_reviewer.full_name
    qa_reviewer.full_name = "新名字"
    qa_reviewer.save()
    page = client_for(qa_reviewer).get(approved_product.get_absolute_url()).content.decode()
    signature_block = page.split('data-testid="signature"', 1)[1].split("</div>", 1)[0]
    assert old_name in signature_block and "新名字" not in signature_block


# --- R-SIG-3 hash binding -----------------------------------------------------------------------


def test_raw_sql_change_after_signing_breaks_the_signature(approved_product, qa_reviewer, client_for):
    """R-SIG-3: a record changed behind the application's back shows its signature as invalid."""
    sig = Signature.objects.for_record(approved_product).get()
    assert sig.is_valid()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(Product._meta.db_table)} SET {qn('pack_size')} = %s WHERE {qn('id')} = %s",
            ["100粒/瓶", approved_product.pk],
        )
    sig = Signature.objects.get(pk=sig.pk)
    assert not sig.is_valid()
    assert not sig.is_valid(approved_product.__class__.objects.get(pk=approved_product.pk))
    assert [ok for _s, ok in signatures_for(approved_product)] == [False]
    page = client_for(qa_reviewer).get(approved_product.get_absolute_url()).content.decode()
    assert INVALID in page


@pytest.mark.parametrize(
    "column, value",
    [("shelf_life_months", 36), ("requires_two_stage_release", True), ("approval_number", "国药准字Z99999999")],
)
def test_any_signed_field_changed_by_raw_sql_breaks_the_signature(column, value, approved_product):
    """R-SIG-3: every signed field is in the hash, whatever its type."""
    sig = Signature.objects.for_record(approved_product).get()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(Product._meta.db_table)} SET {qn(column)} = %s WHERE id = %s", [value, approved_product.pk]
        )
    assert not Signature.objects.get(pk=sig.pk).is_valid()


def test_signature_row_copied_to_another_record_does_not_verify(approved_product, qa_reviewer, client_for):
    """R-SIG-3: a signature row copied onto another record (by raw SQL INSERT) is shown as invalid."""
    # Same content as the signed product except the approval number (which must be unique).
    twin = ProductFactory(
        **{f: getattr(approved_product, f) for f in Product.SIGNED_FIELDS if f != "approval_number"},
        approval_number="国药准字H29999999",
        last_changed_by=approved_product.last_changed_by,
    )
    original = Signature.objects.for_record(approved_product).get()
    table = qn(Signature._meta.db_table)
    columns = [f.column for f in Signature._meta.concrete_fields if not f.primary_key]
    select = ", ".join("%s" if c == "object_id" else qn(c) for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(qn(c) for c in columns)}) SELECT {select} FROM {table} WHERE id = %s",
            [twin.pk, original.pk],
        )
    copied = Signature.objects.for_record(twin).get()
    assert copied.record_hash == original.record_hash
    assert not copied.is_valid()
    assert original.is_valid()
    page = client_for(qa_reviewer).get(twin.get_absolute_url()).content.decode()
    assert INVALID in page


def test_signature_of_another_record_passed_explicitly_does_not_verify(approved_product, qa_reviewer):
    """R-SIG-3: is_valid(other_record) checks the record the signature belongs to."""
    other = ProductFactory(last_changed_by=qa_reviewer)
    sig = Signature.objects.for_record(approved_product).get()
    assert sig.is_valid(other) is True  # falls back to the signed record, never to ``other``
    assert (
        sig.compute_hash(record=other, signer_id=sig.signer_id, meaning=sig.meaning, signed_at=sig.signed_at)
        != sig.record_hash
    )


# --- R-SIG-4 never updated or deleted ----------------------------------------------------------


@pytest.fixture
def signature(approved_product) -> Signature:
    return Signature.objects.for_record(approved_product).get()


def test_signature_cannot_be_changed_or_deleted_through_the_orm(signature):
    """R-SIG-4: instance save/delete and every queryset write are refused."""
    signature.comment = "edited"
    with pytest.raises(AuditError):
        signature.save()
    with pytest.raises(AuditError):
        signature.delete()
    with pytest.raises(AuditError):
        Signature.objects.filter(pk=signature.pk).update(comment="edited")
    with pytest.raises(AuditError):
        Signature.objects.filter(pk=signature.pk).delete()
    with pytest.raises(AuditError):
        Signature.objects.bulk_update([signature], ["comment"])
    for write in (
        lambda: Signature._base_manager.filter(pk=signature.pk).update(comment="edited"),
        lambda: Signature._base_manager.filter(pk=signature.pk).delete(),
    ):
        with pytest.raises((AuditError, DatabaseError)):
            with transaction.atomic():
                write()
    stored = Signature.objects.get(pk=signature.pk)
    assert stored.comment != "edited" and stored.is_valid()


def test_raw_sql_update_and_delete_of_signatures_fail_in_the_database(signature):
    """R-SIG-4: the append-only trigger refuses UPDATE and DELETE on the signature table."""
    table = qn(Signature._meta.db_table)
    message = raw_sql_refused(f"UPDATE {table} SET {qn('printed_name')} = %s WHERE id = %s", ["Mallory", signature.pk])
    assert "append-only" in message
    message = raw_sql_refused(f"DELETE FROM {table} WHERE id = %s", [signature.pk])
    assert "append-only" in message
    assert raw_sql_refused(f"DELETE FROM {table}")
    stored = Signature.objects.get(pk=signature.pk)
    assert stored.printed_name == signature.printed_name


# --- R-SIG-5 administrators never sign; nobody signs for someone else --------------------------


def test_system_administrator_cannot_sign_even_with_the_right_password(admin_user, draft_product):
    """R-SIG-5: the admin role never signs GMP records, and the refusal is audited."""
    with pytest.raises(SignatureError):
        verify_signer(user=admin_user, password=PASSWORD)
    assert AuthEvent.objects.filter(user=admin_user, kind=AuthEvent.Kind.SIGNATURE_REFUSED).exists()
    assert not Signature.objects.exists()


def test_superuser_cannot_sign(db, draft_product):
    """R-SIG-5: a superuser holds every permission but still cannot sign."""
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    with pytest.raises(SignatureError):
        verify_signer(user=root, password=PASSWORD)


def test_admin_who_also_holds_a_qa_role_cannot_approve(make_user, draft_product, client_for):
    """R-SIG-5: enforced in the signature code, not only by the role's permissions."""
    both = make_user(QA_REVIEWER, ADMIN)
    response = client_for(both).post(
        reverse("release:product_approve", args=[draft_product.pk]), {"approve-password": PASSWORD}
    )
    assert response.status_code == 400
    assert "System administrators cannot sign" in response.content.decode()
    draft_product.refresh_from_db()
    assert draft_product.status == Product.Status.DRAFT
    assert not Signature.objects.exists()


def test_superuser_approving_through_the_page_signs_nothing(db, draft_product, client_for):
    """R-SIG-5: the superuser reaches the approve action (all permissions) and is refused there."""
    root = User.objects.create_superuser(username="root", password=PASSWORD)
    response = client_for(root).post(
        reverse("release:product_approve", args=[draft_product.pk]), {"approve-password": PASSWORD}
    )
    assert response.status_code == 400
    assert not Signature.objects.exists()


def test_credential_made_for_an_administrator_cannot_sign(admin_user, draft_product):
    """R-SIG-5: sign() checks the signer again, whatever credential it is given."""
    credential = SigningCredential(user=admin_user)
    with pytest.raises(SignatureError):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.APPROVED)


def test_signer_is_the_person_whose_password_was_checked(qa_reviewer, qa_reviewer2, draft_product):
    """R-SIG-5: the signature names the credential's person; swapping the person is refused."""
    sig = _sign(qa_reviewer, draft_product)
    assert sig.signer == qa_reviewer and sig.printed_name == qa_reviewer.printed_name

    credential = verify_signer(user=qa_reviewer, password=PASSWORD)
    credential.user = qa_reviewer2
    with pytest.raises(SignatureError):
        sign(credential=credential, record=draft_product, meaning=Signature.Meaning.APPROVED)
    assert not Signature.objects.filter(signer=qa_reviewer2).exists()


def test_another_persons_password_does_not_sign_for_them(qa_reviewer, qa_reviewer2):
    """R-SIG-5: the password asked is the signed-in person's own."""
    qa_reviewer2.set_password("Other-Persons-Secret-31")
    qa_reviewer2.save()
    with pytest.raises(SignatureError):
        verify_signer(user=qa_reviewer, password="Other-Persons-Secret-31")


def test_approve_page_signs_as_the_signed_in_person_only(draft_product, qa_reviewer, qa_reviewer2, client_for):
    """R-SIG-5: a form field naming another signer is ignored."""
    response = client_for(qa_reviewer2).post(
        reverse("release:product_approve", args=[draft_product.pk]),
        {"approve-password": PASSWORD, "signer": qa_reviewer.pk, "user": qa_reviewer.pk},
    )
    assert response.status_code == 302
    assert Signature.objects.for_record(draft_product).get().signer == qa_reviewer2


def test_signature_content_type_is_the_concrete_model(approved_product):
    """R-SIG-3: the generic link names the record's own table, so lookups cannot be confused."""
    sig = Signature.objects.for_record(approved_product).get()
    assert sig.content_type == ContentType.objects.get_for_model(Product)
    assert sig.object_id == approved_product.pk
