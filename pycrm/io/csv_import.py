"""Contact CSV import: encoding and delimiter detection, header presets, validation, dedupe.

Staged so the write lock is held briefly: the file is parsed, validated, normalised and matched
against the database first (``plan_import``), then everything is written in one short
transaction (``apply_import``). Strict by default: one invalid row and nothing is written.
"""

from __future__ import annotations

import codecs
import csv
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pycrm.services import contacts as contact_service
from pycrm.services.errors import ValidationError
from pycrm.services.text import clean, fold

FIELD_SIZE_LIMIT = 1_000_000  # characters; larger fields are refused with a clear line
DELIMITERS = [",", ";", "\t", "|"]
TARGETS = (
    "name", "given_name", "family_name", "email", "phone", "company", "title", "notes", "tags",
    "birthday", "source", "campaign", "language", "best_time", "preferred_channel", "do_not_contact",
    "cadence_days", "address_street", "address_city", "address_region", "address_postcode",
    "address_country", "uuid", "ignore",
)  # fmt: skip


class ImportError_(ValueError):
    """The file cannot be imported at all (missing, binary, empty, broken quoting…): one line."""


def _syn(*words: str) -> list[str]:
    return [fold(w) for w in words]


# Header synonyms (folded: case and accents ignored) in English, Portuguese, French and Spanish.
SYNONYMS: dict[str, list[str]] = {
    "name": _syn("name", "full name", "display name", "nome", "nome completo", "nom complet", "nombre completo", "contact", "contato", "contacto"),
    "given_name": _syn("first name", "given name", "firstname", "prenom", "prénom", "primeiro nome", "nombre", "nome proprio"),
    "family_name": _syn("last name", "surname", "family name", "lastname", "sobrenome", "apelido", "apellido", "apellidos", "nom de famille"),
    "email": _syn("email", "e-mail", "mail", "email address", "e-mail address", "courriel", "adresse e-mail", "correo", "correo electronico", "endereco de e-mail", "e-mail 1 - value", "email 1"),
    "phone": _syn("phone", "telephone", "téléphone", "telefone", "teléfono", "tel", "mobile", "mobile phone", "cell", "celular", "portable", "movil", "móvil", "phone 1 - value", "business phone", "home phone", "whatsapp"),
    "company": _syn("company", "organization", "organisation", "organization name", "empresa", "societe", "société", "entreprise", "compania", "compañía", "organization 1 - name", "account"),
    "title": _syn("title", "job title", "position", "cargo", "fonction", "poste", "puesto", "organization title", "organization 1 - title", "role"),
    "notes": _syn("notes", "note", "comments", "observacoes", "observações", "remarques", "notas", "comentarios"),
    "tags": _syn("tags", "tag", "labels", "categories", "group membership", "etiquetas", "categorias", "catégories", "groupes"),
    "birthday": _syn("birthday", "date of birth", "birth date", "aniversario", "aniversário", "data de nascimento", "date de naissance", "anniversaire", "cumpleanos", "cumpleaños", "fecha de nacimiento"),
    "source": _syn("source", "lead source", "origem", "origine", "fuente"),
    "campaign": _syn("campaign", "campanha", "campagne", "campana", "campaña"),
    "language": _syn("language", "idioma", "langue", "lingua"),
    "address_city": _syn("city", "cidade", "ville", "ciudad", "business city", "home city", "address 1 - city"),
    "address_country": _syn("country", "pais", "país", "pays", "business country/region", "address 1 - country"),
    "address_postcode": _syn("postal code", "zip", "zip code", "cep", "code postal", "codigo postal", "address 1 - postal code"),
    "address_street": _syn("street", "address", "endereco", "endereço", "adresse", "direccion", "dirección", "business street", "address 1 - street"),
    "address_region": _syn("state", "region", "estado", "province", "provincia", "address 1 - region"),
}  # fmt: skip

PRESETS: dict[str, dict[str, str]] = {
    "google": {
        "Name": "name", "First Name": "given_name", "Given Name": "given_name", "Last Name": "family_name",
        "Family Name": "family_name", "Organization Name": "company", "Organization 1 - Name": "company",
        "Organization Title": "title", "Organization 1 - Title": "title", "Notes": "notes",
        "Labels": "tags", "Group Membership": "tags", "Birthday": "birthday",
        "Address 1 - City": "address_city", "Address 1 - Country": "address_country",
        "Address 1 - Postal Code": "address_postcode", "Address 1 - Street": "address_street",
        "Address 1 - Region": "address_region",
    },
    "outlook": {
        "First Name": "given_name", "Last Name": "family_name", "Company": "company", "Job Title": "title",
        "E-mail Address": "email", "E-mail 2 Address": "email", "E-mail 3 Address": "email",
        "Mobile Phone": "phone", "Business Phone": "phone", "Home Phone": "phone", "Categories": "tags",
        "Notes": "notes", "Birthday": "birthday", "Business City": "address_city",
        "Business Country/Region": "address_country", "Business Street": "address_street",
        "Business Postal Code": "address_postcode",
    },
    "pycrm": {
        "name": "name", "given_name": "given_name", "family_name": "family_name", "emails": "email",
        "phones": "phone", "company": "company", "title": "title", "notes": "notes", "tags": "tags",
        "birthday": "birthday", "source": "source", "campaign": "campaign", "language": "language",
        "best_time": "best_time", "preferred_channel": "preferred_channel",
        "do_not_contact": "do_not_contact", "cadence_days": "cadence_days", "street": "address_street",
        "city": "address_city", "region": "address_region", "postcode": "address_postcode",
        "country": "address_country", "uuid": "uuid",
    },
}  # fmt: skip
GOOGLE_SYSTEM_LABELS = {
    "* mycontacts",
    "* starred",
    "mycontacts",
    "* friends",
    "* family",
    "* coworkers",
}


@dataclass
class Problem:
    """A rejected row: where and why."""

    line: int
    column: str
    reason: str
    row: dict[str, str] = field(default_factory=dict)

    def text(self, source: str) -> str:
        return f"{source}:{self.line}: {self.column}: {self.reason}"


@dataclass
class Plan:
    """What an import will do, decided before anything is written."""

    source: str
    encoding: str
    delimiter: str
    mapping: dict[str, str]  # header → target (or "custom:<header>")
    headers: list[str]
    create: list[contact_service.NewContact] = field(default_factory=list)
    create_lines: list[int] = field(default_factory=list)
    update: list[tuple[int, contact_service.NewContact, dict[str, Any]]] = field(
        default_factory=list
    )
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (line, existing contact id)
    rejected: list[Problem] = field(default_factory=list)
    new_companies: list[str] = field(default_factory=list)
    rows: int = 0


# --- reading ---------------------------------------------------------------------------------


def detect_encoding(path: Path, forced: str | None = None) -> str:
    """BOM (UTF-8 / UTF-16) → strict UTF-8 → cp1252; ``forced`` wins. Streams the file once."""
    if forced:
        try:
            codecs.lookup(forced)
        except LookupError as exc:
            raise ImportError_(f"{path}: unknown encoding {forced!r}") from exc
        return forced
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
            return "utf-16"
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"


def sniff_delimiter(first_line: str, forced: str | None = None) -> str:
    """The delimiter: forced, else the most frequent of , ; tab | in the header line."""
    if forced:
        return "\t" if forced in ("tab", "\\t") else forced
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_text(path: Path, encoding: str) -> IO[str]:
    """The file as text, universal newlines left to the csv module."""
    return path.open("r", encoding=encoding, errors="strict", newline="")


def read_rows(handle: IO[str], source: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each record, turning csv and decoding errors into one line."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    reader = csv.reader(handle, delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "field larger" in message:
                message = f"a field is longer than {FIELD_SIZE_LIMIT:,} characters"
            elif "NUL" in message:
                message = (
                    "the file contains NUL bytes (is it a spreadsheet or binary file, not CSV?)"
                )
            elif "unexpected end of data" in message or "EOF" in message:
                message = "a quoted field is never closed"
            raise ImportError_(f"{source}:{reader.line_num or line}: {message}") from exc
        except UnicodeDecodeError as exc:
            raise ImportError_(
                f"{source}:{reader.line_num + 1}: bytes that are not valid text in this encoding (try --encoding)"
            ) from exc
        yield line, cells
        line = reader.line_num + 1


# --- mapping ---------------------------------------------------------------------------------


def map_headers(
    headers: list[str], preset: str = "auto", overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """header → target field, ``custom:<header>`` for unknown columns (kept, not dropped)."""
    if preset not in ("auto", *PRESETS):
        raise ValidationError("--preset", f"{preset!r} is not one of: auto, {', '.join(PRESETS)}")
    mapping: dict[str, str] = {}
    folded_presets = {
        name: {fold(k): v for k, v in table.items()} for name, table in PRESETS.items()
    }
    has_given = any(fold(h) in SYNONYMS["given_name"] for h in headers)
    for header in headers:
        key = fold(header)
        target = None
        tables = [folded_presets[preset]] if preset != "auto" else list(folded_presets.values())
        for table in tables:
            if key in table:
                target = table[key]
                break
        if target is None:
            import re

            if re.match(r"^e-?mail \d+ - value$", key) or re.match(
                r"^e-?mail( \d+)? address$", key
            ):
                target = "email"
            elif re.match(r"^phone \d+ - value$", key):
                target = "phone"
            elif re.match(r"^(e-?mail|phone) \d+ - (label|type)$", key):
                target = "ignore"
        if target is None:
            for candidate, words in SYNONYMS.items():
                if key in words:
                    target = candidate
                    break
        if target is None and key == "nom":  # French: "Nom" beside "Prénom" is the family name
            target = "family_name" if has_given else "name"
        mapping[header] = target or f"custom:{header.strip()}"
    for header, target in (overrides or {}).items():
        if header not in headers:
            raise ValidationError(
                "--map", f"no column {header!r} in the file (columns: {', '.join(headers)})"
            )
        if target not in TARGETS and not target.startswith("custom:"):
            raise ValidationError(
                "--map", f"{target!r} is not a field (fields: {', '.join(TARGETS)})"
            )
        mapping[header] = target
    return mapping


def parse_map_options(options: list[str]) -> dict[str, str]:
    """``HEADER=FIELD`` options → dict."""
    out = {}
    for option in options:
        if "=" not in option:
            raise ValidationError("--map", f"{option!r} should look like HEADER=FIELD")
        header, _, target = option.partition("=")
        out[header.strip()] = target.strip()
    return out


# --- validation ------------------------------------------------------------------------------


def _split_multi(text: str) -> list[str]:
    for sep in (" ::: ", ";", ","):
        if sep in text:
            return [p.strip() for p in text.split(sep) if p.strip()]
    return [text.strip()] if text.strip() else []


def _birthday(text: str, date_order: str) -> dict[str, int | None]:
    raw = text.strip()
    if not raw:
        return {}
    if raw.startswith("--") and len(raw) in (6, 7):
        parts = raw[2:].replace("-", "")
        return {"birth_year": None, "birth_month": int(parts[:2]), "birth_day": int(parts[2:4])}
    from pycrm.dates import DateParseError, parse_date

    try:
        day = parse_date(raw, date_order=date_order, field="birthday")
    except DateParseError as exc:
        raise ValidationError(
            "birthday", f"{text!r} is not a date (ISO 1990-11-24 or {date_order} order)"
        ) from exc
    return {"birth_year": day.year, "birth_month": day.month, "birth_day": day.day}


def row_to_contact(
    values: dict[str, list[str]], custom: dict[str, str], *, region: str, date_order: str
) -> tuple[contact_service.NewContact, str | None]:
    """Validate one row's mapped values; returns the contact and its company name."""
    first = {k: (v[0] if v else "") for k, v in values.items()}
    name = clean(first.get("name"))
    given, family = clean(first.get("given_name")), clean(first.get("family_name"))
    company = clean(first.get("company"))
    if not name and not given and not family:
        if not company:
            raise ValidationError("name", "a row needs a name or a company")
        name = company
    emails = [e for cell in values.get("email", []) for e in _split_multi(cell)]
    phones = [
        p for cell in values.get("phone", []) for p in _split_multi(cell.replace(" ::: ", ";"))
    ]
    tags = [t for cell in values.get("tags", []) for t in _split_multi(cell)]
    tags = [t.lstrip("* ").strip() for t in tags if fold(t) not in GOOGLE_SYSTEM_LABELS]
    fields: dict[str, Any] = {}
    for key in ("title", "notes", "source", "campaign", "language", "best_time", "preferred_channel",
                "address_street", "address_city", "address_region", "address_postcode", "address_country"):  # fmt: skip
        if clean(first.get(key)):
            fields[key] = first[key]
    if given:
        fields["given_name"] = given
    if family:
        fields["family_name"] = family
    if clean(first.get("do_not_contact")):
        fields["do_not_contact"] = fold(first["do_not_contact"]) in (
            "1",
            "yes",
            "true",
            "y",
            "sim",
            "oui",
            "si",
            "x",
        )
    if clean(first.get("cadence_days")):
        try:
            fields["cadence_days"] = int(first["cadence_days"])
        except ValueError as exc:
            raise ValidationError(
                "cadence_days", f"{first['cadence_days']!r} is not a number of days"
            ) from exc
    if clean(first.get("birthday")):
        fields.update(_birthday(first["birthday"], date_order))
    if custom:
        fields["custom_fields"] = custom
    contact = contact_service.validate_new_contact(
        name, emails=emails, phones=phones, tags=tags, region=region, **fields
    )
    if clean(first.get("uuid")):
        contact.uuid = first["uuid"].strip().lower()
    return contact, company


# --- planning --------------------------------------------------------------------------------


def plan_import(
    session: Session,
    path: Path,
    *,
    source: str | None = None,
    preset: str = "auto",
    overrides: dict[str, str] | None = None,
    saved_mapping: dict[str, str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    on_duplicate: str = "skip",
    region: str = "US",
    date_order: str = "dmy",
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """Read, validate and match every row; nothing is written."""
    source = source or str(path)
    if on_duplicate not in ("skip", "update", "create"):
        raise ValidationError("--on-duplicate", "must be skip, update or create")
    if not path.exists():
        raise ImportError_(f"{source}: no such file")
    if path.is_dir():
        raise ImportError_(f"{source}: is a directory, expected a CSV file")
    if path.stat().st_size == 0:
        raise ImportError_(f"{source}: the file is empty")
    with path.open("rb") as fh:
        sample = fh.read(8192)
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportError_(
            f"{source}:1: the file contains NUL bytes (is it a spreadsheet or binary file, not CSV?)"
        )
    chosen = detect_encoding(path, encoding)
    try:
        with open_text(path, chosen) as probe:
            first_line = probe.readline()
    except UnicodeDecodeError as exc:
        raise ImportError_(
            f"{source}:1: bytes that are not valid text in {chosen} (try --encoding)"
        ) from exc
    sep = sniff_delimiter(first_line, delimiter)
    # Hundreds of thousands of small objects are created and all kept: the cyclic garbage
    # collector would rescan them again and again (quadratic time), and they hold no cycles.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _plan_rows(session, path, source, chosen, sep, preset, overrides, saved_mapping,
                          on_duplicate, region, date_order, progress)  # fmt: skip
    finally:
        if gc_was_enabled:
            gc.enable()


def _plan_rows(
    session: Session, path: Path, source: str, chosen: str, sep: str, preset: str,
    overrides: dict[str, str] | None, saved_mapping: dict[str, str] | None, on_duplicate: str,
    region: str, date_order: str, progress: Callable[[int], None] | None,
) -> Plan:  # fmt: skip
    with open_text(path, chosen) as handle:
        rows = read_rows(handle, source, sep)
        try:
            _, headers = next(rows)
        except StopIteration as exc:
            raise ImportError_(f"{source}: the file is empty") from exc
        headers = [h.strip() for h in headers]
        if not any(headers):
            raise ImportError_(f"{source}:1: the header row is empty")
        mapping = dict(saved_mapping or {})
        if mapping:
            missing = [h for h in headers if h not in mapping]
            mapping.update(
                {h: t for h, t in map_headers(missing, preset).items()} if missing else {}
            )
            mapping.update(overrides or {})
        else:
            mapping = map_headers(headers, preset, overrides)
        plan = Plan(source=source, encoding=chosen, delimiter=sep, mapping=mapping, headers=headers)
        parsed: list[tuple[int, contact_service.NewContact, str | None, dict[str, str]]] = []
        for line, cells in rows:
            if not any(c.strip() for c in cells):
                continue
            plan.rows += 1
            raw = dict(zip(headers, cells, strict=False))
            if len(cells) > len(headers):
                plan.rejected.append(
                    Problem(line, "(row)", f"{len(cells)} cells but {len(headers)} columns", raw)
                )
                continue
            values: dict[str, list[str]] = {}
            custom: dict[str, str] = {}
            for header, cell in raw.items():
                target = mapping.get(header, "ignore")
                if not cell.strip() or target == "ignore":
                    continue
                if cell[:1] == "'" and cell[1:2] in ("=", "@", "+", "-", "\t", "\r"):
                    cell = cell[1:]  # undo our export's formula neutralising
                if target.startswith("custom:"):
                    custom[target[7:]] = cell.strip()
                else:
                    values.setdefault(target, []).append(cell)
            try:
                contact, company = row_to_contact(
                    values, custom, region=region, date_order=date_order
                )
            except ValidationError as exc:
                column = next(
                    (h for h, t in mapping.items() if t == exc.field or t.startswith(exc.field)),
                    exc.field,
                )
                plan.rejected.append(Problem(line, column, exc.reason, raw))
                continue
            parsed.append((line, contact, company, {}))  # raw cells are kept only for rejected rows
            if progress and plan.rows % 1000 == 0:
                progress(plan.rows)
    if plan.rows == 0:
        raise ImportError_(f"{source}: only a header row, no contacts to import")
    _match(session, plan, parsed, on_duplicate)
    return plan


def _match(
    session: Session,
    plan: Plan,
    parsed: list[tuple[int, contact_service.NewContact, str | None, dict[str, str]]],
    policy: str,
) -> None:
    """Decide create / update / skip per row: e-mail, else phone, else name + company."""
    emails = sorted({e.lower() for _, c, _, _ in parsed for e, _ in c.emails})
    phones = sorted({p.number for _, c, _, _ in parsed for p, _ in c.phones if p.normalized})
    by_email: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    for start in range(0, len(emails), 500):
        for key, cid in session.execute(
            sa.text("SELECT email_key, contact_id FROM contact_email WHERE email_key IN :keys").bindparams(
                sa.bindparam("keys", expanding=True)), {"keys": emails[start:start + 500]}):  # fmt: skip
            by_email.setdefault(key, cid)
    for start in range(0, len(phones), 500):
        for number, cid in session.execute(
            sa.text("SELECT number, contact_id FROM contact_phone WHERE number IN :keys").bindparams(
                sa.bindparam("keys", expanding=True)), {"keys": phones[start:start + 500]}):  # fmt: skip
            by_phone.setdefault(number, cid)
    companies = {fold(c) for _, _, c, _ in parsed if c}
    company_ids: dict[str, int] = {}
    keys = sorted(companies)
    for start in range(0, len(keys), 500):
        for key, cid in session.execute(
            sa.text("SELECT name_key, id FROM company WHERE name_key IN :keys ORDER BY id").bindparams(
                sa.bindparam("keys", expanding=True)), {"keys": keys[start:start + 500]}):  # fmt: skip
            company_ids.setdefault(key, cid)
    name_company: dict[tuple[str, str], int] = {}
    needs_name = [
        (fold(c.display_name), fold(co or ""))
        for _, c, co, _ in parsed
        if not c.emails and not c.phones
    ]
    if needs_name:
        wanted = {n for n, _ in needs_name}
        for cid, name, company in session.execute(
            sa.text(
                "SELECT c.id, c.display_name, co.name FROM contact c LEFT JOIN company co ON co.id = c.company_id"
            )
        ):
            key = (fold(name), fold(company or ""))
            if key[0] in wanted:
                name_company.setdefault(key, cid)
    uuids = sorted({c.uuid for _, c, _, _ in parsed if c.uuid})
    by_uuid: dict[str, int] = {}
    for start in range(0, len(uuids), 500):
        for uuid, cid in session.execute(
            sa.text("SELECT uuid, id FROM contact WHERE uuid IN :keys").bindparams(
                sa.bindparam("keys", expanding=True)), {"keys": uuids[start:start + 500]}):  # fmt: skip
            by_uuid[uuid] = cid
    seen_in_file: dict[str, int] = {}
    new_company_names: dict[str, str] = {}
    for line, contact, company, _raw in parsed:
        existing = by_uuid.get(contact.uuid) if contact.uuid else None
        if existing is None and contact.uuid and policy == "create" and contact.uuid in by_uuid:
            contact.uuid = None
        for email, _ in contact.emails:
            existing = existing or by_email.get(email.lower())
        for phone, _ in contact.phones:
            if existing is None and phone.normalized:
                existing = by_phone.get(phone.number)
        if existing is None and not contact.emails and not contact.phones:
            existing = name_company.get((fold(contact.display_name), fold(company or "")))
        file_keys = [e.lower() for e, _ in contact.emails] + [
            p.number for p, _ in contact.phones if p.normalized
        ]
        if not file_keys:
            file_keys = [f"name:{fold(contact.display_name)}|{fold(company or '')}"]
        earlier = next((seen_in_file[k] for k in file_keys if k in seen_in_file), None)
        if company:
            key = fold(company)
            if key in company_ids:
                contact.company_id = company_ids[key]
            else:
                new_company_names.setdefault(key, company.strip())
                contact.fields["_company_key"] = key
        if existing is not None and policy == "create":
            contact.uuid = None  # a deliberate copy gets its own identity
        if existing is not None and policy != "create":
            if policy == "skip":
                plan.skipped.append((line, existing))
            else:
                plan.update.append((existing, contact, {"line": line, "company": company}))
            continue
        if earlier is not None and policy != "create":
            plan.skipped.append((line, -earlier))  # a duplicate of an earlier row of this file
            continue
        for k in file_keys:
            seen_in_file.setdefault(k, line)
        plan.create.append(contact)
        plan.create_lines.append(line)
    plan.new_companies = sorted(new_company_names.values(), key=fold)


def apply_import(session: Session, plan: Plan, *, region: str = "US") -> dict[str, int]:
    """Write a plan in the current transaction (companies, new contacts, updates)."""
    from pycrm.services.changelog import bulk_insert

    company_rows = [{"name": n, "name_key": fold(n)} for n in plan.new_companies]
    new_ids = dict(
        zip(
            [r["name_key"] for r in company_rows],
            bulk_insert(session, "company", company_rows),
            strict=True,
        )
    )
    for contact in plan.create:
        key = contact.fields.pop("_company_key", None)
        if key is not None:
            contact.company_id = new_ids.get(key)
    contact_service.bulk_create_contacts(session, plan.create)
    for existing, contact, _extra in plan.update:
        key = contact.fields.pop("_company_key", None)
        company_id = contact.company_id or (new_ids.get(key) if key else None)
        fields = {k: v for k, v in contact.fields.items() if v is not None}
        changes: dict[str, Any] = {"display_name": contact.display_name, **fields}
        if company_id is not None:
            changes["company_id"] = company_id
        contact_service.update_contact(
            session, existing,
            add_emails=[(e, label) for e, label in contact.emails],
            add_phones=[(p.raw, label) for p, label in contact.phones],
            add_tags=contact.tags, region=region, **changes,
        )  # fmt: skip
    return {
        "created": len(plan.create),
        "updated": len(plan.update),
        "skipped": len(plan.skipped),
        "rejected": len(plan.rejected),
    }


def write_errors(plan: Plan, out: IO[str]) -> None:
    """Rejected rows with their original cells plus line and reason columns."""
    writer = csv.writer(out)
    writer.writerow(["line", "column", "reason", *plan.headers])
    for problem in plan.rejected:
        writer.writerow(
            [
                problem.line,
                problem.column,
                problem.reason,
                *(problem.row.get(h, "") for h in plan.headers),
            ]
        )


def stdin_to_file(stream: IO[bytes], folder: Path) -> Path:
    """Spool stdin to a private temporary file (the importer reads its input twice)."""
    import os
    import tempfile

    fd, name = tempfile.mkstemp(prefix="pycrm-import-", suffix=".csv", dir=folder)
    with os.fdopen(fd, "wb") as fh:
        while chunk := stream.read(1 << 20):
            fh.write(chunk)
    return Path(name)
