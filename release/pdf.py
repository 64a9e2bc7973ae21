"""Release documents (placeholder, filled in with the certificate)."""

from __future__ import annotations


def issue_certificate(*, step_pk: int, user_pk: int) -> None:
    return None


def issue_nonconforming_report(*, step_pk: int, user_pk: int) -> None:
    return None


def ensure_documents(review) -> None:
    return None
