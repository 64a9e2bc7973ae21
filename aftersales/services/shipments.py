"""Distribution records (销售记录, R-SHIP-1/2/3) and the ERP CSV import.

``shipment_create`` is the one way a shipment is written — the form, the CSV import, a sales
sample (SMP-FY002 4.3) and a complaint's replacement (AS-4.2.5) all call it. Inside its
transaction, after locking the batch and the customer, it asks release's gate
(``release.for_shipping.may_ship``) and the qualification check
(``aftersales.for_shipping.customer_may_buy``) for the dispatch date and refuses with every
reason both give; nothing is written then. Product, batch and consignee data are copied onto the
record (frozen). Voiding needs a reason and a signature (R-REC-1); nothing is deleted.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from aftersales.for_shipping import customer_may_buy
from aftersales.models import Complaint, Customer, CustomerPerson, Shipment
from core.models import Signature, User
from core.numbering import formatted_number
from core.signatures import sign, verify_signer
from core.workflow import InputError, WorkflowError, move, require_permission, require_reason, save_step, signs
from release.for_shipping import may_ship
from release.models import Batch

MAX_QUANTITY = 10_000_000
MAX_UNIT_PRICE = Decimal("1000000")


def shipment_input_problems(data: dict[str, Any]) -> dict[str, list[str]]:
    """What is wrong with the shape of a shipment's data, by field (the rules are the gate's)."""
    problems: dict[str, list[str]] = {}
    quantity = data.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        problems["quantity"] = [_("Enter the quantity shipped as a whole number greater than zero.")]
    elif quantity > MAX_QUANTITY:
        problems["quantity"] = [
            _("The quantity is implausibly large (more than %(max)s).") % {"max": f"{MAX_QUANTITY:,}"}
        ]
    price = data.get("unit_price")
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
        problems["unit_price"] = [_("Enter the unit price as an amount of zero or more.")]
    elif price > MAX_UNIT_PRICE:
        problems["unit_price"] = [_("The unit price is implausibly large.")]
    elif price != price.quantize(Decimal("0.01")):
        problems["unit_price"] = [_("Give the unit price to at most two decimal places.")]
    day = data.get("dispatch_date")
    if day is None:
        problems["dispatch_date"] = [_("Enter the dispatch date.")]
    elif day > timezone.localdate():
        problems["dispatch_date"] = [_("The dispatch date cannot be in the future.")]
    if data.get("batch") is None:
        problems["batch"] = [_("Choose the batch shipped.")]
    if data.get("customer") is None:
        problems["customer"] = [_("Choose the consignee.")]
    purpose = data.get("purpose") or Shipment.Purpose.SALE
    if purpose not in Shipment.Purpose.values:
        problems["purpose"] = [_("Choose the purpose from the list.")]
    if purpose == Shipment.Purpose.REPLACEMENT and data.get("complaint") is None:
        problems["complaint"] = [_("A replacement shipment names the complaint it replaces for (AS-4.2.5).")]
    if purpose != Shipment.Purpose.REPLACEMENT and data.get("complaint") is not None:
        problems["complaint"] = [_("Only a replacement shipment is linked to a complaint.")]
    return problems


def cannot_ship_replacement(complaint: Complaint) -> str | None:
    """AS-4.2.5: a replacement is shipped for a sales-chain complaint whose responsibility is ours."""
    if not complaint.replacement_needed:
        return _(
            "Complaint %(number)s does not call for a replacement: only a sales-chain problem whose "
            "responsibility is ours does (AS-4.2.5)."
        ) % {"number": complaint.number}
    if complaint.status == Complaint.Status.CLOSED:
        return _("Complaint %(number)s is closed.") % {"number": complaint.number}
    return None


def _pickup_person(customer: Customer, person: CustomerPerson | None, day) -> tuple[CustomerPerson | None, str]:
    """GSP 第八十九条: the person collecting is one the customer authorised (checked, recorded)."""
    if person is None:
        return None, ""
    if person.customer_id != customer.pk or person.kind != CustomerPerson.Kind.PICKUP:
        raise InputError(
            {"pickup_person": [_("%(person)s is not a pick-up person of this customer.") % {"person": person}]}
        )
    if person.authorised_until is not None and person.authorised_until < day:
        raise InputError(
            {
                "pickup_person": [
                    _("The authorisation of %(person)s ended on %(date)s.")
                    % {"person": person, "date": person.authorised_until.isoformat()}
                ]
            }
        )
    return person, person.name


def earlier_expiring(batch: Batch, on) -> list[Batch]:
    """Shippable batches of the same product (release's gate in SQL, on the dispatch date) that
    expire before ``batch``, earliest first: first expiry, first out (FEFO; GSP 近效期先出). Only a
    warning — the company may have reasons (a customer's order, a reserved lot) — and "available"
    means releasable, not counted stock: this system keeps no warehouse stock."""
    from release.for_shipping import shippable_batches

    return list(
        shippable_batches(on)
        .filter(product_id=batch.product_id, expiry_date__lt=batch.expiry_date)
        .exclude(pk=batch.pk)
        .order_by("expiry_date", "pk")[:5]
    )


def fefo_warning(batch: Batch, on) -> str | None:
    """The warning a person confirms before shipping ``batch`` while an earlier-expiring one may ship."""
    earlier = earlier_expiring(batch, on)
    if not earlier:
        return None
    return _(
        "First expiry, first out: batch %(earlier)s of the same product expires earlier and may ship. "
        "Tick the box to ship batch %(batch)s (expiry %(expiry)s) anyway."
    ) % {
        "earlier": ", ".join(f"{b.batch_number} ({b.expiry_date:%Y-%m-%d})" for b in earlier),
        "batch": batch.batch_number,
        "expiry": f"{batch.expiry_date:%Y-%m-%d}",
    }


def shipment_create(*, user: User, data: dict[str, Any]) -> Shipment:
    """Record a shipment (R-SHIP-1) — only of a shippable batch (R-SHIP-2) to a customer allowed to
    buy the product (R-SHIP-3) on the dispatch date.

    Refuses with ``InputError`` (the shape of the data, by field; every gate and qualification
    reason under the key ``""``) and writes nothing then. Writes the shipment with its number
    (``SHP-YYYY-NNNNNN``) and its first history row; when the person confirmed shipping although
    an earlier-expiring batch was available (``fefo_confirmed``, the form's FEFO warning), that
    row's reason names the earlier batches.
    """
    require_permission(user, "aftersales.add_shipment")
    if problems := shipment_input_problems(data):
        raise InputError(problems)
    day = data["dispatch_date"]
    with transaction.atomic():
        batch = Batch.objects.select_for_update().select_related("product").get(pk=data["batch"].pk)
        customer = Customer.objects.select_for_update().get(pk=data["customer"].pk)
        reasons = [*may_ship(batch, on=day), *customer_may_buy(customer, batch.product, day)]
        complaint = data.get("complaint")
        if complaint is not None:
            complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
            if refusal := cannot_ship_replacement(complaint):
                reasons.append(refusal)
            elif complaint.batch_id and complaint.product_id and complaint.product_id != batch.product_id:
                reasons.append(_("The replacement must be of the complained product."))
        if reasons:
            raise InputError({"": reasons})
        delivery_note = (data.get("delivery_note") or "").strip()
        if delivery_note and Shipment.objects.filter(delivery_note=delivery_note).exists():
            raise InputError(
                {"delivery_note": [_("Delivery note %(note)s is already recorded.") % {"note": delivery_note}]}
            )
        pickup, pickup_name = _pickup_person(customer, data.get("pickup_person"), day)
        product = batch.product
        shipment = Shipment(
            purpose=data.get("purpose") or Shipment.Purpose.SALE,
            batch=batch,
            product=product,
            generic_name=product.generic_name,
            strength=product.strength,
            dosage_form=product.get_dosage_form_display(),
            batch_number=batch.batch_number,
            expiry_date=batch.expiry_date,
            manufacturer=product.manufacturer,
            quantity=data["quantity"],
            unit=product.pack_size,
            unit_price=data["unit_price"],
            amount=(data["unit_price"] * data["quantity"]).quantize(Decimal("0.01")),
            customer=customer,
            consignee_name=customer.name,
            consignee_address=customer.delivery_address or customer.registered_address,
            consignee_contact=" ".join(p for p in (customer.contact_person, customer.phone) if p),
            pickup_person=pickup,
            pickup_person_name=pickup_name,
            dispatch_date=day,
            transport_mode=data["transport_mode"],
            delivery_note=delivery_note,
            complaint=complaint,
            notes=(data.get("notes") or "").strip(),
            recorded_by=user,
            last_changed_by=user,
        )
        shipment.number = formatted_number("SHP", day.year, width=6)
        reason = "created"
        if data.get("fefo_confirmed") and (earlier := earlier_expiring(batch, day)):
            names = ", ".join(f"{b.batch_number} ({b.expiry_date:%Y-%m-%d})" for b in earlier)
            reason = f"created; FEFO warning confirmed: earlier-expiring batch {names} available"
        shipment.save_audited(user=user, reason=reason)
    return shipment


def returnable_quantity(customer_id: int, batch_id: int) -> int:
    """Shipped to the customer of the batch (not voided) less what it has returned (R-RET-1)."""
    from django.db.models import Sum

    from aftersales.models import GoodsReturn

    shipped = Shipment.objects.active().filter(customer_id=customer_id, batch_id=batch_id).aggregate(n=Sum("quantity"))
    returned = GoodsReturn.objects.filter(customer_id=customer_id, batch_id=batch_id).aggregate(n=Sum("quantity"))
    return (shipped["n"] or 0) - (returned["n"] or 0)


def cannot_void_shipment(shipment: Shipment, user: User) -> str | None:
    if not user.has_perm("aftersales.void_shipment"):
        return _("You do not have permission to do this.")
    if shipment.status != Shipment.Status.SHIPPED:
        return _("This distribution record is already voided.")
    if returnable_quantity(shipment.customer_id, shipment.batch_id) < shipment.quantity:
        return _("Goods of this batch returned by this customer would exceed what remains shipped; the record stays.")
    return None


@signs(Signature.Meaning.VOIDED)
def shipment_void(
    *, shipment: Shipment, user: User, password: str, reason: str, request: HttpRequest | None = None
) -> Shipment:
    """Void a distribution record entered in error (R-REC-1): reason and signature; it stays
    readable and no longer counts (recall lists, return limits)."""
    require_permission(user, "aftersales.void_shipment")
    reason = require_reason(reason)
    credential = verify_signer(user=user, password=password, request=request)
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if refusal := cannot_void_shipment(shipment, user):
            raise WorkflowError(refusal)
        move(shipment, Shipment.Status.VOIDED)
        shipment.voided_by, shipment.voided_at, shipment.void_reason = user, timezone.now(), reason
        save_step(shipment, user, reason)
        sign(credential=credential, record=shipment, meaning=shipment_void.meaning, comment=reason)
    return shipment


# --- CSV import from the ERP ------------------------------------------------------------------------

IMPORT_COLUMNS = (
    "delivery_note",
    "batch_number",
    "product",
    "customer",
    "quantity",
    "unit_price",
    "dispatch_date",
    "transport_mode",
    "purpose",
    "fefo_confirmed",
)
# The optional columns: a file without them is read as "sale" and "not confirmed".
OPTIONAL_IMPORT_COLUMNS = ("purpose", "fefo_confirmed")
FEFO_CONFIRMED_YES = ("yes", "y", "true", "1", "是")
FEFO_CONFIRMED_NO = ("", "no", "n", "false", "0", "否")
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 5 * 1024 * 1024
FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def _field_label(key: str) -> str:
    if not key:
        return ""
    try:
        return str(Shipment._meta.get_field(key).verbose_name)
    except Exception:  # noqa: BLE001 - a key that is not a field is shown as it is
        return key


def _parse_row(row: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """One CSV row → shipment_create's data, or the messages saying what is wrong with it."""
    from datetime import date
    from decimal import InvalidOperation

    errors: list[str] = []
    cells = {k: (row.get(k) or "").strip() for k in IMPORT_COLUMNS}
    for key, value in cells.items():
        if value.startswith(FORMULA_STARTS):
            errors.append(
                _("%(column)s: a cell may not start with = + or @ (a spreadsheet formula).") % {"column": key}
            )
    if errors:
        return {}, errors
    data: dict[str, Any] = {"delivery_note": cells["delivery_note"], "notes": ""}
    batches = Batch.objects.filter(batch_number=cells["batch_number"]).select_related("product")
    if cells["product"]:
        batches = batches.filter(
            Q(product__name=cells["product"])
            | Q(product__approval_number=cells["product"])
            | Q(product__generic_name=cells["product"])
        )
    found = list(batches[:2])
    if not cells["batch_number"]:
        errors.append(_("batch_number: empty."))
    elif not found:
        errors.append(_("batch_number: no batch %(number)s on file.") % {"number": cells["batch_number"]})
    elif len(found) > 1:
        errors.append(_("batch_number: %(number)s is ambiguous; give the product.") % {"number": cells["batch_number"]})
    else:
        data["batch"] = found[0]
    customers = list(Customer.objects.filter(name=cells["customer"]).exclude(status=Customer.Status.VOIDED)[:2])
    if len(customers) != 1:
        errors.append(_("customer: no single customer named %(name)s on file.") % {"name": cells["customer"] or "—"})
    else:
        data["customer"] = customers[0]
    text = cells["quantity"]
    if text.isdigit() and len(text) <= 12:
        data["quantity"] = int(text)
    else:
        errors.append(_("quantity: %(value)s is not a whole number greater than zero.") % {"value": text or "—"})
    try:
        data["unit_price"] = Decimal(cells["unit_price"])
    except (InvalidOperation, ValueError):
        errors.append(_("unit_price: %(value)s is not an amount.") % {"value": cells["unit_price"] or "—"})
    try:
        data["dispatch_date"] = date.fromisoformat(cells["dispatch_date"])
    except ValueError:
        errors.append(
            _("dispatch_date: %(value)s is not a date (YYYY-MM-DD).") % {"value": cells["dispatch_date"] or "—"}
        )
    from aftersales.models import TransportMode

    if cells["transport_mode"] in TransportMode.values:
        data["transport_mode"] = cells["transport_mode"]
    else:
        errors.append(
            _("transport_mode: %(value)s is not one of %(choices)s.")
            % {"value": cells["transport_mode"] or "—", "choices": ", ".join(TransportMode.values)}
        )
    purpose = cells["purpose"] or Shipment.Purpose.SALE
    if purpose in (Shipment.Purpose.SALE, Shipment.Purpose.SAMPLE):
        data["purpose"] = purpose
    else:
        errors.append(_("purpose: %(value)s is not sale or sample.") % {"value": purpose})
    confirmed = cells["fefo_confirmed"].lower()
    if confirmed in FEFO_CONFIRMED_YES:
        data["fefo_confirmed"] = True
    elif confirmed in FEFO_CONFIRMED_NO:
        data["fefo_confirmed"] = False
    else:
        errors.append(
            _("fefo_confirmed: %(value)s is not yes or no (leave it empty when not confirmed).")
            % {"value": cells["fefo_confirmed"]}
        )
    return data, errors


class _FefoUnconfirmed(Exception):
    """Rolls one imported row's savepoint back: it may ship, but its FEFO warning is not confirmed."""


def fefo_confirmation_token(content: bytes, lines: list[int]) -> str:
    """What the import page hands back when a person confirms the FEFO warnings it listed: the
    file's SHA-256 and the lines warned. A confirmation covers exactly those rows of exactly that
    file — a changed file (another batch on a line) is warned again, never shipped on an old tick."""
    from core.hashing import sha256_bytes

    return f"{sha256_bytes(content)}:{','.join(str(n) for n in sorted(lines))}"


def _confirmed_lines(content: bytes, token: str) -> set[int]:
    from core.hashing import sha256_bytes

    digest, _sep, lines = (token or "").partition(":")
    if not digest or digest != sha256_bytes(content):
        return set()
    return {int(n) for n in lines.split(",") if n.isdigit()}


def shipment_import(
    *, user: User, content: bytes, import_good_rows: bool = False, fefo_confirmation: str = ""
) -> dict[str, Any]:
    """Import shipments exported by the ERP: every row through ``shipment_create`` (the gate and the
    qualification check per row, R-SHIP-2/3). Returns ``created`` (the shipments written),
    ``errors`` (``(line number, [messages])`` per refused row), ``fefo_warnings`` (``(line number,
    warning)`` per row not written because an earlier-expiring batch may ship and nobody confirmed
    it) and ``fefo_token`` (what confirms exactly those warnings of this file, or "").

    FEFO (GSP 近效期先出): the same rule as the form — ``fefo_warning`` on the row's batch and
    dispatch date. A warned row is written only when confirmed, by its ``fefo_confirmed`` column
    ("yes") or by ``fefo_confirmation`` (the token the page showed with the warnings, for this
    file's SHA-256 and those lines); the shipment's first history row then names the earlier batches,
    as the form's does. An unconfirmed warned row counts as a refused row.

    All or nothing by default: one refused row and nothing is written (issue 10: "writing nothing
    from a file with errors unless asked to import the good rows"). With ``import_good_rows`` the
    valid rows land and the refused ones are listed.
    """
    import csv
    import io

    require_permission(user, "aftersales.add_shipment")
    if len(content) > MAX_IMPORT_BYTES:
        raise InputError({"file": [_("The file is larger than 5 MB; split it.")]})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError({"file": [_("The file is not UTF-8 text; export it from the ERP as UTF-8 CSV.")]}) from None
    if "\x00" in text:
        raise InputError({"file": [_("The file is not a CSV text file.")]})
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in IMPORT_COLUMNS if c not in header and c not in OPTIONAL_IMPORT_COLUMNS]
    if missing:
        raise InputError(
            {"file": [_("Columns missing from the header: %(columns)s.") % {"columns": ", ".join(missing)}]}
        )
    reader.fieldnames = header
    created: list[Shipment] = []
    errors: list[tuple[int, list[str]]] = []
    fefo_warnings: list[tuple[int, str]] = []
    confirmed_lines = _confirmed_lines(content, fefo_confirmation)
    with transaction.atomic():
        count = 0
        for row in reader:
            count += 1
            line = reader.line_num
            if count > MAX_IMPORT_ROWS:
                raise InputError({"file": [_("More than %(max)s rows; split the file.") % {"max": MAX_IMPORT_ROWS}]})
            data, row_errors = _parse_row(row)
            warning = None
            if not row_errors and (warning := fefo_warning(data["batch"], data["dispatch_date"])):
                if line in confirmed_lines:
                    data["fefo_confirmed"] = True
                if data.get("fefo_confirmed"):
                    warning = None
            if not row_errors:
                try:
                    with transaction.atomic():
                        shipment = shipment_create(user=user, data=data)
                        if warning:
                            # The row passes the gate and the qualification check but nobody
                            # confirmed its FEFO warning: undo it (its savepoint) and say so.
                            raise _FefoUnconfirmed(warning)
                        created.append(shipment)
                except _FefoUnconfirmed:
                    fefo_warnings.append((line, warning))
                except InputError as exc:
                    for key, messages in exc.errors.items():
                        label = _field_label(key)
                        row_errors.extend(f"{label}: {m}" if label else str(m) for m in messages)
                except WorkflowError as exc:
                    row_errors.append(str(exc))
            if row_errors:
                errors.append((line, row_errors))
        if count == 0:
            raise InputError({"file": [_("The file has no rows.")]})
        if (errors or fefo_warnings) and not import_good_rows:
            transaction.set_rollback(True)
            created = []
    token = fefo_confirmation_token(content, [line for line, _w in fefo_warnings]) if fefo_warnings else ""
    return {"created": created, "errors": errors, "fefo_warnings": fefo_warnings, "fefo_token": token, "rows": count}
