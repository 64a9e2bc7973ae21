"""Sessions in the database, renewed at most once a minute (R-AUTH-2).

Django's ``SESSION_SAVE_EVERY_REQUEST`` writes the session row on every request to slide the idle
window: a database write (and, on PostgreSQL, a commit) on every page view for a window counted in
minutes. Here the row is rewritten only when its stored expiry is more than ``RENEW_AFTER`` old, so
the idle timeout is kept to within a minute and a person reading pages costs one write a minute.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

RENEW_AFTER = timedelta(minutes=1)  # at most; a tenth of a window shorter than ten minutes


class SessionStore(DatabaseSessionStore):
    """The database store that remembers the expiry of the row it loaded."""

    stored_expiry: datetime | None = None

    def _get_session_from_db(self):
        row = super()._get_session_from_db()
        self.stored_expiry = row.expire_date if row is not None else None
        return row


def due_for_renewal(session: SessionStore) -> bool:
    """True when the stored idle window is more than ``RENEW_AFTER`` shorter than a full one."""
    expiry = getattr(session, "stored_expiry", None)
    if expiry is None:
        return True
    window = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return expiry - timezone.now() < window - min(RENEW_AFTER, window / 10)


class SlidingSessionMiddleware(SessionMiddleware):
    """Django's session middleware, sliding the idle window by ``due_for_renewal``."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.accessed
            and not session.modified
            and not session.is_empty()
            and due_for_renewal(session)
        ):
            session.modified = True
        return super().process_response(request, response)
