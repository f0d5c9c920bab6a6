"""vCard 2.1 / 3.0 / 4.0 import and 3.0 / 4.0 export (with vobject).

Import keeps what pycrm has no field for (X-…, IMPP, RELATED, extra ADR/TEL lines…) in
``Contact.extra["vcard"]`` and writes it back on export, and keeps the card's UID (as the
contact's uuid when it is one, else in ``extra["vcard_uid"]``) so a re-import updates.
"""

from __future__ import annotations

import quopri
import re
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
import vobject
from sqlalchemy.orm import Session

from pycrm import models as m
from pycrm.services import companies as company_service
from pycrm.services import contacts as contact_service
from pycrm.services.errors import ValidationError
from pycrm.services.text import clean
from pycrm.services.text import fold as fold_text  # ``fold`` below folds vCard lines
from pycrm.services.validation import normalize_phone

HANDLED = {
    "version", "fn", "n", "email", "tel", "org", "title", "note", "bday", "adr", "categories",
    "uid", "kind", "prodid", "rev", "photo", "label", "x-ablabel",
}  # fmt: skip
MAX_PHOTO = 0  # photos are not kept


class VCardError(ValueError):
    """A file that cannot be read as vCards: one line naming file, line and problem."""


@dataclass
class Card:
    """One parsed card, ready to create or update a contact (or a company when KIND:org)."""

    source: str
    uid: str | None
    kind: str
    name: str
    fields: dict[str, Any] = field(default_factory=dict)
    emails: list[tuple[str, str | None]] = field(default_factory=list)
    phones: list[tuple[str, str | None]] = field(default_factory=list)
    company: str | None = None
    tags: list[str] = field(default_factory=list)
    extra: list[list[Any]] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252 (old 2.1 exports)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _join_qp_soft_breaks(text: str) -> str:
    """vCard 2.1 QUOTED-PRINTABLE values continue on the next line after a trailing '='."""
    lines = text.splitlines()
    out: list[str] = []
    joining = False
    for line in lines:
        if joining:
            out[-1] = out[-1][:-1] + line.lstrip(" \t") if out[-1].endswith("=") else out[-1] + line
        else:
            out.append(line)
        head = out[-1].split(":", 1)[0].upper()
        joining = "QUOTED-PRINTABLE" in head and out[-1].endswith("=")
    return "\r\n".join(out) + "\r\n"


def _qp(line: Any) -> str:
    value = line.value
    params = {k.upper(): [str(v).upper() for v in vs] for k, vs in line.params.items()}
    encodings = params.get("ENCODING", [])
    if "QUOTED-PRINTABLE" in encodings or "QUOTED-PRINTABLE" in params.get("TYPE", []):
        charset = (params.get("CHARSET") or ["UTF-8"])[0]
        raw = quopri.decodestring(str(value).encode("latin-1", errors="replace"))
        try:
            return raw.decode(charset)
        except (LookupError, UnicodeDecodeError):
            return raw.decode("cp1252", errors="replace")
    return value if isinstance(value, str) else str(value)


def _types(line: Any) -> list[str]:
    out: list[str] = []
    for key, values in line.params.items():
        if key.upper() == "TYPE":
            out += [v.lower() for v in values]
        elif not values or values == [""]:  # 2.1 bare parameters: TEL;CELL:
            out.append(key.lower())
    return [t for t in out if t not in ("internet", "pref", "voice", "encoding", "charset")]


def _label(line: Any, labels: dict[str, str]) -> str | None:
    if line.group and line.group in labels:
        text = labels[line.group]
        return re.sub(r"^_\$!<(.*)>!\$_$", r"\1", text).lower()[:50]
    kinds = _types(line)
    return kinds[0][:50] if kinds else None


def _text_value(line: Any) -> str:
    return clean(_qp(line)) or ""


def card_from_component(comp: Any, source: str) -> Card:
    """A vobject vCard component → :class:`Card` (raises ValidationError on a card with no name)."""
    labels = {
        ch.group: _text_value(ch)
        for ch in comp.getChildren()
        if ch.name.upper() == "X-ABLABEL" and ch.group
    }
    kind = "individual"
    uid = None
    name = ""
    n_given = n_family = None
    fields: dict[str, Any] = {}
    card = Card(source=source, uid=None, kind=kind, name="")
    first_adr = True
    for ch in comp.getChildren():
        key = ch.name.lower()
        if key == "version" or key == "prodid" or key == "rev" or key == "x-ablabel":
            continue
        if key == "photo":
            continue
        if key == "kind":
            kind = _text_value(ch).lower() or "individual"
        elif key == "x-abshowas" and _text_value(ch).upper() == "COMPANY":
            kind = "org"  # Apple's (and pycrm's 3.0) way of saying KIND:org
        elif key == "uid":
            uid = _text_value(ch) or None
        elif key == "fn":
            name = _text_value(ch)
        elif key == "n":
            value = ch.value
            if isinstance(value, str):
                parts = ([*_qp(ch).split(";"), "", ""])[:2]
                n_family, n_given = clean(parts[0]), clean(parts[1])
            else:
                n_family = clean(_join(value.family)) or None
                n_given = clean(_join(value.given)) or None
        elif key == "email":
            text = _text_value(ch)
            if text:
                card.emails.append((text.removeprefix("mailto:"), _label(ch, labels)))
        elif key == "tel":
            text = _text_value(ch)
            if text.lower().startswith("tel:"):
                text = text[4:].split(";", 1)[0]
            if text:
                card.phones.append((text, _label(ch, labels)))
        elif key == "org":
            value = ch.value
            text = _join(value[0]) if isinstance(value, list) and value else _qp(ch).split(";")[0]
            card.company = clean(text) or None
        elif key == "title":
            fields["title"] = _text_value(ch) or None
        elif key == "note":
            fields["notes"] = _qp(ch).strip() or None
        elif key == "categories":
            value = ch.value
            items = value if isinstance(value, list) else _qp(ch).split(",")
            card.tags += [t.strip() for t in items if t and t.strip()]
        elif key == "bday":
            fields.update(_bday(_text_value(ch)))
        elif key == "adr" and first_adr:
            first_adr = False
            value = ch.value
            if isinstance(value, str):
                parts = (_qp(ch).split(";") + [""] * 7)[:7]
                street, city, region, code, country = (
                    parts[2],
                    parts[3],
                    parts[4],
                    parts[5],
                    parts[6],
                )
            else:
                street, city, region = _join(value.street), _join(value.city), _join(value.region)
                code, country = _join(value.code), _join(value.country)
            for target, text in (("address_street", street), ("address_city", city),
                                 ("address_region", region), ("address_postcode", code),
                                 ("address_country", country)):  # fmt: skip
                if clean(text):
                    fields[target] = clean(text)
        else:
            params = {k: list(v) for k, v in ch.params.items()}
            group_label = labels.get(ch.group) if ch.group else None
            card.extra.append([ch.name.upper(), params, _qp(ch), group_label])
    if n_given:
        fields["given_name"] = n_given
    if n_family:
        fields["family_name"] = n_family
    name = name or " ".join(p for p in (n_given, n_family) if p) or (card.company or "")
    if not name:
        raise ValidationError("FN", "the card has no name (FN, N or ORG)")
    card.name, card.kind, card.uid, card.fields = name, kind, uid, fields
    return card


def _join(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value if v)
    return str(value or "")


def _bday(text: str) -> dict[str, int | None]:
    raw = text.strip().split("T", 1)[0]
    match = re.match(r"^(\d{4}|--)-?(\d{2})-?(\d{2})$", raw)
    if not match:
        return {}
    year = None if match.group(1) == "--" or match.group(1) == "1604" else int(match.group(1))
    return {
        "birth_year": year,
        "birth_month": int(match.group(2)),
        "birth_day": int(match.group(3)),
    }


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """The .vcf files named, and those inside named directories (khard / vdirsyncer layout)."""
    for path in paths:
        if not path.exists():
            raise VCardError(f"{path}: no such file or directory")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".vcf", ".vcard"))
            if not found:
                raise VCardError(f"{path}: no .vcf files in this directory")
            yield from found
        else:
            yield path


def read_cards(path: Path) -> list[Card]:
    """Every card of one file; a file that is not vCard, or is truncated, is one VCardError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VCardError(f"{path}: {exc.strerror}") from exc
    if not data.strip():
        raise VCardError(f"{path}: the file is empty")
    if b"\x00" in data:
        raise VCardError(f"{path}:1: the file contains NUL bytes (not a vCard file)")
    text = _join_qp_soft_breaks(decode_bytes(data))
    if not text.lstrip().upper().startswith("BEGIN:VCARD"):
        raise VCardError(f"{path}:1: not a vCard file (it should start with BEGIN:VCARD)")
    if text.upper().count("BEGIN:VCARD") != text.upper().count("END:VCARD"):
        raise VCardError(f"{path}: truncated: a card has BEGIN:VCARD but no END:VCARD")
    cards: list[Card] = []
    try:
        for index, comp in enumerate(vobject.readComponents(text, ignoreUnreadable=False)):
            if comp.name.upper() != "VCARD":
                continue
            try:
                cards.append(card_from_component(comp, f"{path}#{index + 1}"))
            except ValidationError as exc:
                raise VCardError(f"{path}: card {index + 1}: {exc.field}: {exc.reason}") from exc
    except vobject.base.ParseError as exc:
        line = getattr(exc, "lineNumber", None)
        raise VCardError(
            f"{path}:{line or '?'}: not valid vCard ({str(exc).splitlines()[0][:120]})"
        ) from exc
    except VCardError:
        raise
    except Exception as exc:  # vobject raises assorted errors on hostile input
        raise VCardError(
            f"{path}: not valid vCard ({type(exc).__name__}: {str(exc)[:120]})"
        ) from exc
    if not cards:
        raise VCardError(f"{path}: no cards in the file")
    return cards


# --- writing into the database ---------------------------------------------------------------


def _is_uuid(text: str | None) -> bool:
    if not text:
        return False
    try:
        uuidlib.UUID(text.removeprefix("urn:uuid:"))
    except ValueError:
        return False
    return True


def _existing_by_uid(session: Session) -> dict[str, int]:
    out: dict[str, int] = {}
    for cid, uuid, extra in session.execute(
        sa.select(m.Contact.id, m.Contact.uuid, m.Contact.extra)
    ):
        out[uuid] = cid
        if isinstance(extra, dict) and extra.get("vcard_uid"):
            out[str(extra["vcard_uid"])] = cid
    return out


def _same_person(session: Session, card: Card, region: str) -> int | None:
    """The contact a card without a known UID is: by its e-mail; a card with no e-mail by its
    valid phone, and one with neither by its name and company, accents and case aside (as
    ``import csv`` matches, except that a card whose e-mails are all new is a new person even
    when a phone is shared: an office line, a family's landline)."""
    for email, _ in card.emails:
        found = contact_service.find_by_email(session, email)
        if found:
            return found[0]
    if card.emails:
        return None
    numbers = []
    for text, _ in card.phones:
        try:
            phone = normalize_phone(text, region)
        except ValidationError:
            continue
        if phone.normalized:
            numbers.append(phone.number)
    for number in numbers:
        found = contact_service.find_by_phone(session, number)
        if found:
            return found[0]
    if numbers or not card.name:
        return None
    query = sa.select(m.Contact.id).where(m.Contact.name_key == fold_text(card.name))
    if card.company:
        query = query.join(m.Company, m.Company.id == m.Contact.company_id).where(
            m.Company.name_key == fold_text(card.company)
        )
    else:
        query = query.where(m.Contact.company_id.is_(None))
    return session.scalars(query.order_by(m.Contact.id).limit(1)).first()


def import_cards(session: Session, cards: list[Card], *, region: str = "US") -> dict[str, int]:
    """Create or update one contact or company per card: a contact found by UID, else as
    ``_same_person`` finds it."""
    counts = {"created": 0, "updated": 0, "unchanged": 0, "companies": 0}
    by_uid = _existing_by_uid(session)
    for card in cards:
        if card.kind == "org":
            name = card.company or card.name
            if company_service.find_company_by_name(session, name) is None:
                company_service.get_or_create_company(session, name)
                counts["companies"] += 1
            continue
        uid = card.uid
        plain_uid = uid.removeprefix("urn:uuid:").lower() if uid and _is_uuid(uid) else None
        extra: dict[str, Any] = {"vcard": card.extra} if card.extra else {}
        if uid and not plain_uid:
            extra["vcard_uid"] = uid
        existing = by_uid.get(plain_uid or "") or (by_uid.get(uid) if uid else None)
        if existing is None:
            existing = _same_person(session, card, region)
        if existing is not None:
            stamp = contact_service.get_contact(session, existing).updated_at
            contact = contact_service.update_contact(
                session, existing, display_name=card.name, emails=card.emails, phones=card.phones,
                add_tags=card.tags, company_name=card.company, region=region,
                extra=extra or None, **card.fields,
            )  # fmt: skip
            counts["updated" if contact.updated_at != stamp else "unchanged"] += 1
            continue
        contact = contact_service.create_contact(
            session, card.name, emails=card.emails, phones=card.phones, tags=card.tags,
            company_name=card.company, region=region, extra=extra or None, **card.fields,
        )  # fmt: skip
        if plain_uid and plain_uid not in by_uid:
            contact.uuid = plain_uid
            session.flush()
        by_uid[contact.uuid] = contact.id or 0
        if uid:
            by_uid[uid] = contact.id or 0
        counts["created"] += 1
    return counts


# --- export ----------------------------------------------------------------------------------
#
# Written with plain string formatting (vobject builds and validates a component tree per card,
# which made exporting 100,000 contacts take five times as long as importing them); vobject is
# still what reads cards, and the tests check that it, and khard, read these back.

_NAME_OK = re.compile(r"^[A-Za-z0-9-]+$")
WHAT_VCARD = ("contacts", "companies")


def escape(text: str) -> str:
    """vCard TEXT escaping (RFC 2426 §5, RFC 6350 §3.4): backslash, ``;``, ``,`` and newlines."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if ";" in text:
        text = text.replace(";", "\\;")
    if "," in text:
        text = text.replace(",", "\\,")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" in text:
        text = text.replace("\n", "\\n")
    return text


def param(value: str) -> str:
    """A parameter value: no DQUOTE or line breaks allowed; quoted when it holds , ; or :."""
    value = value.replace('"', "'").replace("\r", " ").replace("\n", " ")
    if "," in value or ";" in value or ":" in value:
        return f'"{value}"'
    return value


def fold(line: str) -> str:
    """One content line folded at 75 octets (continuations start with a space), plus CRLF.

    Folds between characters, never inside a UTF-8 sequence nor a backslash escape.
    """
    if len(line) <= 75 and line.isascii():
        return line + "\r\n"
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts: list[bytes] = []
    start, limit = 0, 75
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a continuation byte: back off to the character start
            end -= 1
        slashes = 0
        while end - 1 - slashes >= start and data[end - 1 - slashes] == 0x5C:
            slashes += 1
        if slashes % 2:  # keep a backslash escape (\, \; \n) whole for naive readers
            end -= 1
        parts.append(data[start:end])
        start, limit = end, 74  # the leading space counts
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode("utf-8") + "\r\n"


# TYPE values each version defines for TEL and EMAIL (RFC 2426 3.3.1/3.3.2, RFC 6350 6.4.1/6.4.2).
_STANDARD_TYPES = {
    3: frozenset(
        {"home", "work", "voice", "fax", "cell", "msg", "video", "pager", "bbs", "modem", "car"}
        | {"isdn", "pcs", "internet", "x400"}
    ),
    4: frozenset({"home", "work", "voice", "fax", "cell", "text", "video", "pager", "textphone"}),
}


def _labelled(
    prop: str, value: str, label: str | None, version: int, groups: list[int]
) -> list[str]:
    """A TEL or EMAIL line with its label: a standard one as TYPE, any other (``plant floor``,
    ``mobile``) as Apple's ``itemN.`` group with an ``X-ABLabel``, which Apple, Google and
    pycrm read back as that label (a TYPE of free text is not valid in either version)."""
    if not label:
        return [f"{prop}{value}"]
    if label.lower() in _STANDARD_TYPES[version]:
        return [f"{prop};TYPE=" + param(label.upper() if version == 3 else label.lower()) + value]
    groups[0] += 1
    group = f"item{groups[0]}"
    return [f"{group}.{prop}{value}", f"{group}.X-ABLABEL:{escape(label)}"]


def _extra_lines(items: Any, groups: list[int]) -> list[str]:
    """The kept properties pycrm has no field for, as content lines (Apple label groups kept,
    numbered on from ``groups[0]``)."""
    lines: list[str] = []
    if not isinstance(items, list):
        return lines
    for item in items:
        try:
            name, params, value, group_label = item
        except (TypeError, ValueError):
            continue
        name = str(name).upper()
        if not _NAME_OK.match(name) or name in ("BEGIN", "END", "VERSION"):
            continue
        text = name
        types: list[str] = []
        for key, values in (params or {}).items() if isinstance(params, dict) else ():
            key = str(key).upper()
            if key in ("ENCODING", "CHARSET") or not _NAME_OK.match(key):
                continue
            values = [str(v) for v in values] if isinstance(values, list) else [str(values)]
            values = [v for v in values if v != ""]
            if not values:  # a vCard 2.1 bare parameter (TEL;CELL:) is a TYPE
                types.append(key)
            elif key == "TYPE":
                types += values
            else:
                text += f";{key}=" + ",".join(param(v) for v in values)
        if types:
            text += ";TYPE=" + ",".join(param(v) for v in types)
        text += ":" + escape("" if value is None else str(value))
        if group_label:
            groups[0] += 1
            group = f"item{groups[0]}"
            lines.append(f"{group}.{text}")
            lines.append(f"{group}.X-ABLABEL:{escape(str(group_label))}")
        else:
            lines.append(text)
    return lines


def contact_card(item: Any, version: int = 3) -> str:
    """One contact (an :class:`~pycrm.io.csv_export.ExportContact`) as vCard text, CRLF lines."""
    c = item.contact
    extra = c.extra if isinstance(c.extra, dict) else {}
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0" if version == 4 else "VERSION:3.0",
        "UID:" + escape(str(extra.get("vcard_uid") or c.uuid)),
        "FN:" + escape(c.display_name or ""),
        f"N:{escape(c.family_name or '')};{escape(c.given_name or '')};;;",
    ]
    if item.company_name:
        lines.append("ORG:" + escape(item.company_name))
    if c.title:
        lines.append("TITLE:" + escape(c.title))
    groups = [0]  # the last itemN. group used
    for email, label in item.emails:
        lines += _labelled("EMAIL", f":{escape(email)}", label, version, groups)
    for number, label in item.phones:
        if version == 4 and number.startswith("+"):
            lines += _labelled("TEL", f";VALUE=uri:tel:{escape(number)}", label, version, groups)
        else:
            lines += _labelled("TEL", f":{escape(number)}", label, version, groups)
    address = (c.address_street, c.address_city, c.address_region, c.address_postcode,
               c.address_country)  # fmt: skip
    if any(address):
        lines.append("ADR:;;" + ";".join(escape(part or "") for part in address))
    if c.birth_month and c.birth_day:
        if c.birth_year:
            lines.append(f"BDAY:{c.birth_year:04d}-{c.birth_month:02d}-{c.birth_day:02d}")
        elif version == 4:
            lines.append(f"BDAY:--{c.birth_month:02d}{c.birth_day:02d}")
        else:  # 3.0 has no year-less date: Apple's 1604 convention (read back as "no year")
            lines.append(f"BDAY:1604-{c.birth_month:02d}-{c.birth_day:02d}")
    if item.tags:
        lines.append("CATEGORIES:" + ",".join(escape(t) for t in item.tags))
    if c.notes:
        lines.append("NOTE:" + escape(c.notes))
    lines += _extra_lines(extra.get("vcard"), groups)
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def company_card(row: Any, tags: list[str], version: int = 3) -> str:
    """One company as a vCard: KIND:org in 4.0, Apple's X-ABShowAs:COMPANY in 3.0."""
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0" if version == 4 else "VERSION:3.0",
        "UID:" + escape(str(row.uuid)),
        "KIND:org" if version == 4 else "X-ABSHOWAS:COMPANY",
        "FN:" + escape(row.name or ""),
        "N:;;;;",
        "ORG:" + escape(row.name or ""),
    ]
    work = ";TYPE=WORK" if version == 3 else ";TYPE=work"
    if row.phone:
        lines.append(f"TEL{work}:{escape(row.phone)}")
    if row.website or row.domain:
        url = row.website or f"https://{row.domain}"
        lines.append("URL:" + escape(url))
    if row.address:
        lines.append(f"ADR{work}:;;{escape(row.address)};;;;")
    if tags:
        lines.append("CATEGORIES:" + ",".join(escape(t) for t in tags))
    if row.notes:
        lines.append("NOTE:" + escape(row.notes))
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)


def _iter_companies(session: Session, batch: int = 2000) -> Iterator[tuple[Any, list[str]]]:
    co_t, link, tag_t = m.Company.__table__, m.CompanyTag.__table__, m.Tag.__table__
    tag_names: dict[int, str] = {
        tag_id: name for tag_id, name in session.execute(sa.select(tag_t.c.id, tag_t.c.name))
    }
    last = 0
    while True:
        rows = session.execute(
            sa.select(co_t).where(co_t.c.id > last).order_by(co_t.c.id).limit(batch)
        ).all()
        if not rows:
            return
        lo, hi = rows[0].id, rows[-1].id
        tags: dict[int, list[str]] = {}
        for cid, tag_id in session.execute(
            sa.select(link.c.company_id, link.c.tag_id).where(link.c.company_id.between(lo, hi))
        ):
            if tag_id in tag_names:
                tags.setdefault(cid, []).append(tag_names[tag_id])
        for row in rows:
            yield row, sorted(tags.get(row.id, []))
        last = hi


def write_vcards(
    session: Session, out: IO[str], *, version: int = 3, what: tuple[str, ...] = ("contacts",)
) -> int:
    """Contacts (and/or companies, as organisation cards) as vCards, streamed; returns the count."""
    from pycrm.io.csv_export import iter_export_contacts

    count = 0
    buffer: list[str] = []
    if "companies" in what:
        for row, tags in _iter_companies(session):
            buffer.append(company_card(row, tags, version))
            count += 1
            if len(buffer) >= 500:
                out.write("".join(buffer))
                buffer.clear()
    if "contacts" in what:
        for item in iter_export_contacts(session):
            buffer.append(contact_card(item, version))
            count += 1
            if len(buffer) >= 500:
                out.write("".join(buffer))
                buffer.clear()
    out.write("".join(buffer))
    return count
