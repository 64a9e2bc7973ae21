"""No lost updates: an edit form carries the version of the record it was read at (issue 8 item 7).

Two people open the same product; the first saves; the second's save would silently put the
first person's change back. Every edit form therefore sends the record's *edit version* — the id
of its newest history row, which changes with every save — and the service, on the row it has
locked, refuses a save based on an older version with who changed what, and when. Their change
is shown beside the values the person typed (nothing typed is lost); saving again after reading
it is a deliberate overwrite of a change the person has now seen.
"""

from __future__ import annotations

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from core.workflow import InputError

VERSION_FIELD = "version"


def edit_version(obj: models.Model) -> int:
    """The id of the record's newest history row (0 for a record without history)."""
    return obj.history.order_by("-history_id").values_list("history_id", flat=True).first() or 0  # type: ignore[attr-defined]


class StaleEdit(InputError):
    """The record changed after the form was read; ``current_version`` is the version now and
    ``their_changes`` maps each field changed since to its (old, new) stored value."""

    def __init__(self, message: str, current_version: int, their_changes: dict[str, tuple]) -> None:
        super().__init__({"": [message]})
        self.current_version = current_version
        self.their_changes = their_changes


def _value(field: models.Field, value) -> str:
    if value is None or value == "":
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def check_edit_version(obj: models.Model, version: int | None) -> None:
    """Refuse (``StaleEdit``) when ``version`` is older than the record's. Call on the locked row.

    ``None`` skips the check: a caller with no form (a command, a data migration) has read the row
    it changes inside the same transaction.
    """
    if version is None:
        return
    current = edit_version(obj)
    if version == current:
        return
    history = obj.history  # type: ignore[attr-defined]
    newest = history.order_by("-history_id").select_related("history_user").first()
    seen = history.filter(history_id=version).first()
    changes = []
    their_changes: dict[str, tuple] = {}
    if seen is not None:
        delta = newest.diff_against(seen)
        for change in delta.changes:
            field = obj._meta.get_field(change.field)
            if not field.editable:
                continue
            their_changes[change.field] = (change.old, change.new)
            changes.append(
                _("%(field)s: %(old)s → %(new)s")
                % {"field": field.verbose_name, "old": _value(field, change.old), "new": _value(field, change.new)}
            )
    who = newest.history_user.printed_name if newest.history_user else _("the system")
    when = timezone.localtime(newest.history_date).strftime("%Y-%m-%d %H:%M UTC%z")
    when = when[:-2] + ":" + when[-2:]  # UTC+0800 → UTC+08:00
    message = _(
        "%(who)s changed this record at %(when)s, after you opened the form (%(changes)s). "
        "Their change is now in the form wherever you had not changed the same field; your own entries are kept: check, then save again."
    ) % {"who": who, "when": when, "changes": "; ".join(changes) or _("no field you can edit")}
    raise StaleEdit(message, current, their_changes)


class VersionedFormMixin(forms.Form):
    """An edit form's hidden edit version, read from the instance when the form is shown."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def __init__(self, *args, versioned: models.Model | None = None, **kwargs) -> None:
        """``versioned``: the record whose version a plain (non-model) form carries."""
        super().__init__(*args, **kwargs)
        instance = versioned if versioned is not None else getattr(self, "instance", None)
        if instance is not None and instance.pk and not self.is_bound:
            self.initial[VERSION_FIELD] = edit_version(instance)

    def accept_version(self, error: StaleEdit) -> None:
        """After a stale refusal, a three-way merge: a field the other person changed and this
        person left as they read it takes the other's value; a field this person changed keeps
        theirs. The form then stands for the version the person has been shown."""
        data = self.data.copy()
        cleaned = getattr(self, "cleaned_data", {})
        for name, (old, new) in error.their_changes.items():
            if name not in self.fields or name not in cleaned:
                continue
            typed = cleaned[name]
            typed = getattr(typed, "pk", typed)
            if typed == old or (typed in ("", None) and old in ("", None)):
                data[self.add_prefix(name)] = "" if new is None else str(getattr(new, "pk", new))
        data[self.add_prefix(VERSION_FIELD)] = str(error.current_version)
        self.data = data
