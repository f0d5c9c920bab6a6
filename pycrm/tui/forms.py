"""The forms of the app: their fields, the same checks as the services, and what saving does."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pycrm.tui.screens.modals import Check, FieldSpec, FormModal

if TYPE_CHECKING:
    from pycrm.tui.app import PycrmApp


def _reason(exc: Exception) -> str:
    return getattr(exc, "reason", None) or str(exc)


def required(field: str) -> Check:
    """Must not be empty (services.validation.require_text)."""

    def check(value: str) -> str | None:
        from pycrm.services.errors import ValidationError
        from pycrm.services.validation import require_text

        try:
            require_text(field, value)
        except ValidationError as exc:
            return _reason(exc)
        return None

    return check


def email_check(value: str) -> str | None:
    """A valid e-mail address or nothing."""
    from pycrm.services.errors import ValidationError
    from pycrm.services.validation import normalize_email

    if not value.strip():
        return None
    try:
        normalize_email(value)
    except ValidationError as exc:
        return _reason(exc)
    return None


def phone_check(region: str) -> Check:
    """A phone number (kept raw when not valid for the region) or nothing."""

    def check(value: str) -> str | None:
        from pycrm.services.errors import ValidationError
        from pycrm.services.validation import normalize_phone

        if not value.strip():
            return None
        try:
            normalize_phone(value, region)
        except ValidationError as exc:
            return _reason(exc)
        return None

    return check


def when_check(app: PycrmApp, *, optional: bool = False) -> Check:
    """A WHEN the shared date parser understands."""

    def check(value: str) -> str | None:
        if not value.strip():
            return None if optional else "a date or time is required (e.g. tomorrow 10:00)"
        try:
            app.parse_when(value)
        except Exception as exc:
            return _reason(exc)
        return None

    return check


def amount_check(currency: str, decimal_comma: bool) -> Check:
    """A money amount in the currency's units."""

    def check(value: str) -> str | None:
        from pycrm.money import MoneyError, parse_amount

        if not value.strip():
            return None
        try:
            parse_amount(value, currency.strip().upper() or "EUR", decimal_comma=decimal_comma)
        except MoneyError as exc:
            return str(exc)
        return None

    return check


def currency_check(value: str) -> str | None:
    """An ISO 4217 currency code."""
    from pycrm.money import MoneyError, check_currency

    try:
        check_currency(value.strip().upper())
    except MoneyError as exc:
        return str(exc)
    return None


def choice_check(field: str, options: tuple[str, ...], *, optional: bool = True) -> Check:
    """One of a few words."""

    def check(value: str) -> str | None:
        if not value.strip():
            return None if optional else f"choose one of: {', '.join(options)}"
        if value.strip().lower() not in options:
            return f"{value!r} is not one of: {', '.join(options)}"
        return None

    return check


def positive_int(value: str) -> str | None:
    """A whole number of days, or nothing."""
    if not value.strip():
        return None
    if not value.strip().isdigit() or int(value) <= 0:
        return "must be a positive number of days"
    return None


def minutes_check(value: str) -> str | None:
    """Minutes, or nothing."""
    if not value.strip():
        return None
    if not value.strip().isdigit():
        return "must be a number of minutes"
    return None


def _tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


# ----------------------------------------------------------------------------------- builders


def contact_form(
    app: PycrmApp, contact_id: int | None = None, values: dict | None = None
) -> FormModal:
    """Add a person, or edit one (``values`` from the dossier)."""
    from pycrm.models import Channel

    v = values or {}
    settings = app.settings
    channels = tuple(c.value for c in Channel)
    fields = [
        FieldSpec("display_name", "Name", v.get("display_name", ""), "Ana Souza", required("name")),
        FieldSpec("email", "E-mail", v.get("email", ""), "ana@example.com", email_check),
        FieldSpec("phone", "Phone", v.get("phone", ""), "+55 11 91234 5678", phone_check(settings.region)),
        FieldSpec("company", "Company", v.get("company", ""), "Acme"),
        FieldSpec("title", "Job title", v.get("title", "")),
        FieldSpec("tags", "Tags", v.get("tags", ""), "vip, partner"),
        FieldSpec(
            "preferred_channel",
            "Preferred channel",
            v.get("preferred_channel", ""),
            ", ".join(channels),
            choice_check("preferred channel", channels),
        ),
        FieldSpec("best_time", "Best time to reach", v.get("best_time", ""), "mornings"),
        FieldSpec("language", "Language", v.get("language", ""), "pt-BR"),
        FieldSpec("cadence_days", "Touch every N days", v.get("cadence_days", ""), "30", positive_int),
        FieldSpec("do_not_contact", "Do not contact", v.get("do_not_contact", "no"), "yes / no", choice_check("do not contact", ("yes", "no"))),
        FieldSpec("notes", "Notes", v.get("notes", "")),
    ]  # fmt: skip

    def save(values: dict[str, str]) -> str:
        from pycrm.services import contacts
        from pycrm.services.text import clean

        fields_: dict = {
            "title": clean(values["title"]),
            "preferred_channel": clean(values["preferred_channel"]),
            "best_time": clean(values["best_time"]),
            "language": clean(values["language"]),
            "cadence_days": int(values["cadence_days"]) if values["cadence_days"].strip() else None,
            "notes": clean(values["notes"]),
            "do_not_contact": values["do_not_contact"].strip().lower() == "yes",
        }
        emails = [values["email"].strip()] if values["email"].strip() else []
        phones = [values["phone"].strip()] if values["phone"].strip() else []
        # Editing shows the first e-mail / phone: keep the others unless that one changed.
        keep_emails = contact_id is not None and values["email"] == v.get("email", "")
        keep_phones = contact_id is not None and values["phone"] == v.get("phone", "")
        if contact_id is None:
            with app.database.write("add contact", source="tui") as session:
                c = contacts.create_contact(
                    session,
                    values["display_name"],
                    emails=emails,
                    phones=phones,
                    company_name=values["company"] or None,
                    tags=_tags(values["tags"]),
                    region=settings.region,
                    **fields_,
                )
                return f"Added {c.display_name}"
        with app.database.write("edit contact", source="tui") as session:
            c = contacts.update_contact(
                session,
                contact_id,
                display_name=values["display_name"],
                emails=None if keep_emails else emails,
                phones=None if keep_phones else phones,
                tags=_tags(values["tags"]),
                company_id=None if not values["company"].strip() else contacts.UNSET,
                company_name=values["company"].strip() or None,
                region=settings.region,
                **fields_,
            )
            return f"Saved {c.display_name}"

    title = "New contact" if contact_id is None else "Edit contact"
    return FormModal(title, fields, save)


def interaction_form(app: PycrmApp, contact_id: int, name: str) -> FormModal:
    """Log a call, e-mail, meeting, note, message or visit."""
    from pycrm.models import Direction, InteractionType

    types = tuple(t.value for t in InteractionType)
    fields = [
        FieldSpec("type", "Type", "call", ", ".join(types), check=choice_check("type", types, optional=False)),
        FieldSpec("direction", "Direction", "", "in / out", check=choice_check("direction", tuple(d.value for d in Direction))),
        FieldSpec("when", "When", "now", "now, yesterday 15:00, 20/11 10:00", when_check(app)),
        FieldSpec("summary", "Summary", "", "what was said", required("summary")),
        FieldSpec("body", "Details", ""),
    ]  # fmt: skip

    def save(values: dict[str, str]) -> str:
        from pycrm.services import interactions

        with app.database.write("log interaction", source="tui") as session:
            interactions.log_interaction(
                session,
                type=values["type"].strip().lower(),
                direction=values["direction"].strip().lower() or None,
                occurred_at=app.parse_when(values["when"]),
                summary=values["summary"],
                body=values["body"] or None,
                contact_id=contact_id,
            )
        return f"Logged {values['type'].strip().lower()} with {name}"

    return FormModal(f"Log an interaction with {name}", fields, save)


def followup_form(
    app: PycrmApp, contact_id: int | None = None, name: str = "", deal_id: int | None = None
) -> FormModal:
    """Promise something by a date, for a person (asked for when not given) or a deal."""
    fields = [
        FieldSpec("what", "What", "", "send the proposal", required("what")),
        FieldSpec(
            "when", "Due", "tomorrow 09:00", "tomorrow 09:00, +3d, next mon", when_check(app)
        ),
    ]
    if contact_id is None and deal_id is None:
        fields.insert(0, FieldSpec("who", "For contact", "", "name or #id", required("contact")))

    def save(values: dict[str, str]) -> str:
        from pycrm.services import followups
        from pycrm.tui import data

        cid, who = contact_id, name
        if cid is None and deal_id is None:
            cid, who = data.resolve_contact(app.database, values["who"])
        with app.database.write("add follow-up", source="tui") as session:
            followups.create_followup(
                session,
                values["what"],
                due_at=app.parse_when(values["when"]),
                contact_id=cid,
                deal_id=deal_id,
            )
        return f"Follow-up added{' for ' + who if who else ''}"

    return FormModal(f"New follow-up{' for ' + name if name else ''}", fields, save)


def meeting_form(app: PycrmApp, contact_id: int | None = None, name: str = "") -> FormModal:
    """Schedule a meeting (with a person when given)."""
    fields = [
        FieldSpec("title", "Title", "", "Demo call", required("title")),
        FieldSpec("when", "Starts", "", "tomorrow 10:00", when_check(app)),
        FieldSpec("minutes", "Minutes", "30", check=minutes_check),
        FieldSpec("location", "Where", ""),
        FieldSpec("repeat", "Repeat", "", "weekly, monthly, FREQ=…"),
    ]
    if contact_id is None:
        fields.insert(1, FieldSpec("who", "With", "", "contact name or #id (optional)"))

    def save(values: dict[str, str]) -> str:
        from pycrm.services import meetings
        from pycrm.tui import data

        people: list[int] = []
        if contact_id is not None:
            people = [contact_id]
        elif values.get("who", "").strip():
            people = [data.resolve_contact(app.database, values["who"])[0]]
        with app.database.write("add meeting", source="tui") as session:
            meetings.create_meeting(
                session,
                values["title"],
                starts_at=app.parse_when(values["when"]),
                duration=timedelta(minutes=int(values["minutes"] or 30)),
                attendees=people,
                location=values["location"] or None,
                repeat=values["repeat"] or None,
            )
        return f"Meeting scheduled: {values['title'].strip()}"

    return FormModal(f"New meeting{' with ' + name if name else ''}", fields, save)


def deal_form(app: PycrmApp, contact_id: int | None = None, name: str = "") -> FormModal:
    """Open a deal (for a person when given)."""
    settings = app.settings
    currency_field = FieldSpec("currency", "Currency", settings.currency, check=currency_check)
    fields = [
        FieldSpec("title", "Title", "", "Annual licence", required("title")),
        FieldSpec("amount", "Value", "", "1200.00", None),
        currency_field,
        FieldSpec(
            "close", "Expected close", "", "31/12 (optional)", when_check(app, optional=True)
        ),
    ]
    if contact_id is None:
        fields.insert(1, FieldSpec("who", "Contact", "", "name or #id (optional)"))

    form: FormModal

    def check_amount(value: str) -> str | None:
        currency = (
            form.values().get("currency", settings.currency)
            if form.is_mounted
            else settings.currency
        )
        return amount_check(currency, settings.decimal_comma)(value)

    fields[2 if contact_id is None else 1].check = check_amount

    def save(values: dict[str, str]) -> str:
        from pycrm.money import MoneyError, parse_amount
        from pycrm.services import deals
        from pycrm.services.errors import ValidationError
        from pycrm.tui import data

        cid = contact_id
        if cid is None and values.get("who", "").strip():
            cid = data.resolve_contact(app.database, values["who"])[0]
        currency = values["currency"].strip().upper()
        try:
            amount = parse_amount(
                values["amount"] or "0", currency, decimal_comma=settings.decimal_comma
            )
        except MoneyError as exc:
            raise ValidationError("amount", str(exc)) from exc
        close = (
            app.parse_when(values["close"]).astimezone().date() if values["close"].strip() else None
        )
        with app.database.write("add deal", source="tui") as session:
            deal = deals.create_deal(
                session,
                values["title"],
                contact_id=cid,
                amount=amount,
                currency=currency,
                expected_close=close,
            )
            return f"Deal opened: {deal.title}"

    form = FormModal(f"New deal{' for ' + name if name else ''}", fields, save)
    return form


def now_utc(app: PycrmApp) -> datetime:
    """The app's clock (fixed in tests)."""
    return app.now()
