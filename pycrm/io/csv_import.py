"""Contact CSV import: encoding and delimiter detection, header presets, validation, dedupe.

Staged so the write lock is held briefly: the file is parsed, validated, normalised and matched
against the database first (``plan_import``), then everything is written in one short
transaction (``apply_import``). Strict by default: one invalid row and nothing is written.
A caller that applies the plan right away may ask for ``write_ahead``: a large file's new
contacts are then written, uncommitted, by a second process while the file is still being
validated (``csv_write_ahead``), and ``apply_import`` commits them.
"""

from __future__ import annotations

import codecs
import csv
import gc
import itertools
import json
import marshal
import pickle
import re
import tempfile
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pycrm.io.csv_write_ahead import WRITE_AHEAD_MAX_BYTES, WRITE_AHEAD_MIN_BYTES
from pycrm.services import contact_values
from pycrm.services.errors import ValidationError
from pycrm.services.text import clean, fold
from pycrm.services.validation import Phone, normalize_email, normalize_phone

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pycrm.io.csv_write_ahead import FirstImport, WriteAhead

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
    "* my contacts",  # the older export's Group Membership
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


# A validated contact as the planner, the spool and the writer pass it along: a plain list
# (``marshal`` moves it between processes and to disk several times faster than objects).
Record = list[Any]  # [display_name, fields, emails, phones, tags, company_id, uuid]
NAME, FIELDS, EMAILS, PHONES, TAGS, COMPANY_ID, UUID = range(7)


def _to_record(c: contact_values.NewContact) -> Record:
    """emails as (address, label), phones as (number, raw, normalized, label)."""
    phones = [(p.number, p.raw, p.normalized, label) for p, label in c.phones]
    return [c.display_name, c.fields, c.emails, phones, c.tags, c.company_id, c.uuid]


def _from_record(record: Record) -> contact_values.NewContact:
    name, fields, emails, phones, tags, company_id, uuid = record
    return contact_values.NewContact(
        name, fields, [tuple(e) for e in emails],
        [(Phone(n, r, ok), label) for n, r, ok, label in phones], tags, company_id, uuid,
    )  # fmt: skip


class _Spool:
    """Validated rows parked on disk between planning and writing, a chunk at a time.

    Keeps memory flat in the file's size without validating every row twice; an anonymous
    temporary file, gone when closed or when the process ends. Items (records, or tuples holding
    them) are stored with ``marshal``, several times faster than pickle, which takes the rare
    values marshal cannot hold.
    """

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self.count = 0

    @staticmethod
    def dumps(items: Any) -> tuple[bytes, bytes]:
        """``items`` as ``b"M"`` and marshal's bytes, or ``b"P"`` and pickle's."""
        try:
            return b"M", marshal.dumps(items)
        except ValueError:
            return b"P", pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL)

    def write(self, items: list[Any]) -> tuple[bytes, bytes]:
        """Park ``items``; returns how they were stored (``b"M"`` marshal or ``b"P"`` pickle, and
        the bytes), which ``loads`` turns back into them."""
        if not items:
            return b"M", marshal.dumps(items)
        kind, data = self.dumps(items)
        self._append(kind, data)
        self.count += len(items)
        return kind, data

    def _append(self, kind: bytes, data: bytes) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="pycrm-import-")  # noqa: SIM115 (closed by close())
        self._file.write(kind + len(data).to_bytes(8, "little"))
        self._file.write(data)

    @staticmethod
    def loads(kind: bytes, data: bytes) -> Any:
        return marshal.loads(data) if kind == b"M" else pickle.loads(data)

    def frames(self) -> Iterator[tuple[bytes, bytes]]:
        """Each stored chunk as ``write`` returned it."""
        if self._file is None:
            return
        self._file.flush()
        self._file.seek(0)
        while header := self._file.read(9):
            yield header[:1], self._file.read(int.from_bytes(header[1:], "little"))

    def chunks(self) -> Iterator[list[Any]]:
        for kind, data in self.frames():
            yield self.loads(kind, data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _Pairs:
    """A list of ``(int, int)`` pairs kept as 16 bytes each in one array, not a tuple of two ints
    (~120 bytes): a plan keeps one per skipped or updated row for the whole run."""

    __slots__ = ("_values",)

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        self._values = array("q")
        for pair in pairs:
            self.append(pair)

    def append(self, pair: tuple[int, int]) -> None:
        self._values.extend(pair)

    def __len__(self) -> int:
        return len(self._values) // 2

    def __iter__(self) -> Iterator[tuple[int, int]]:
        values = iter(self._values)
        return zip(values, values, strict=False)

    def __getitem__(self, index: int) -> tuple[int, int]:
        index = range(len(self))[index]
        return self._values[2 * index], self._values[2 * index + 1]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Pairs):
            return self._values == other._values
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"_Pairs({list(self)!r})"


def _lines() -> array[int]:
    return array("I")  # 4 bytes a line number instead of a list slot and an int (~40 bytes)


@dataclass
class Plan:
    """What an import will do, decided before anything is written.

    Only small per-row facts stay in memory, in compact arrays (line numbers, ids: 4 to 16 bytes
    a row) besides the rejected rows; the validated contacts to create or update are spooled to a
    temporary file and streamed by ``apply_import``.
    """

    source: str
    encoding: str
    delimiter: str
    mapping: dict[str, str]  # header → target (or "custom:<header>")
    headers: list[str]
    create: array[int] = field(default_factory=_lines)  # line of each contact to create
    update: _Pairs = field(default_factory=_Pairs)  # (existing contact id, line)
    update_preview: list[tuple[int, contact_values.NewContact, dict[str, Any]]] = field(
        default_factory=list
    )  # the first few updates in full, for --dry-run
    skipped: _Pairs = field(default_factory=_Pairs)  # (line, existing contact id)
    rejected: list[Problem] = field(default_factory=list)
    new_companies: list[str] = field(default_factory=list)
    rows: int = 0
    _creates: _Spool = field(default_factory=_Spool, repr=False)
    _updates: _Spool = field(default_factory=_Spool, repr=False)
    # The new contacts already written, uncommitted, by a writing process (``write_ahead``).
    _ahead: WriteAhead | None = field(default=None, repr=False)
    # Matched against a look taken before planning, for a writing process: when none took
    # the plan after all, the book may have changed since (see ``stale``).
    _offline: bool = field(default=False, repr=False)

    @property
    def create_lines(self) -> array[int]:
        return self.create

    @property
    def stale(self) -> bool:
        """Whether this plan was matched against an earlier look at the book for a writing
        process that did not take it (another program held the lock or added contacts): plan
        again before applying it."""
        return self._offline and self._ahead is None

    @property
    def written(self) -> bool:
        """Whether a writing process holds the new contacts, uncommitted (``write_ahead``)."""
        return self._ahead is not None

    def close(self) -> None:
        """Drop the spooled rows and any uncommitted write-ahead (``apply_import`` does it when
        done)."""
        self._creates.close()
        self._updates.close()
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None


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
    has_family = any(fold(h) in SYNONYMS["family_name"] for h in headers)
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
        if key == "nome" and target == "name" and has_family and not has_given:
            target = "given_name"  # Portuguese: "Nome" beside "Sobrenome" is the given name
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


_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")


@lru_cache(maxsize=16384)
def _email_domain(domain: str) -> str | None:
    """The normalised domain as email-validator gives it, or None when it rejects it."""
    from email_validator import EmailNotValidError, validate_email

    try:
        normalized = str(validate_email("a@" + domain, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None
    return normalized[2:]


def fast_email(value: str) -> str:
    """``normalize_email`` for the common case in a fraction of the time.

    A plain ASCII dot-atom local part is checked with one precompiled pattern and the domain by
    email-validator once per distinct domain; anything else (quoted or non-ASCII local parts,
    errors) goes through ``normalize_email`` itself, which gives the same result and messages.
    """
    text = value.strip()
    if text[:7].lower() == "mailto:":
        text = text[7:]
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and _LOCAL_PART.match(local):
        normalized_domain = _email_domain(domain)
        if normalized_domain is not None and len(local) + len(normalized_domain) < 250:
            return f"{local}@{normalized_domain}"
    return normalize_email(value)


_PHONE_SHAPE = re.compile(r"\+?[0-9 ().\-]+\Z")
_PHONE_PUNCTUATION = str.maketrans("", "", " ().-")


@dataclass(frozen=True, eq=False)  # hashed by identity: one per calling code (cached)
class _Country:
    """What the fast phone path needs to know of one calling code."""

    known: bool
    national_prefix: re.Pattern[str] | None = None
    general: Any = None  # PhoneNumberDesc (None: no fast check, unless ``regions``)
    kinds: tuple[Any, ...] = ()
    leading_digits: re.Pattern[str] | None = None  # a region sharing its calling code
    # A calling code shared by several regions (+1, +7, +44…): each region's checks, in the
    # order phonenumbers tries them.
    regions: tuple[_Country, ...] = ()

    @property
    def fast(self) -> bool:
        """Whether ``valid`` answers (else ask phonenumbers.is_valid_number)."""
        return self.general is not None or bool(self.regions)

    def valid(self, national: str) -> bool:
        """phonenumbers' ``_is_number_matching_desc`` on the general pattern and on any type's,
        with one combined regular expression per length instead of one call per type.

        For a shared calling code, ``is_valid_number``'s choice of region first: the first
        region whose leading digits start the number, or (having none) that the number is
        valid for; then the number must be valid for that region.
        """
        if self.regions:
            for region in self.regions:
                if region.leading_digits is not None:
                    if region.leading_digits.match(national):
                        return region.valid(national)
                elif region.valid(national):
                    return True
            return False
        check = _length_checks(self, len(national))
        return (
            check is not None
            and check[0].fullmatch(national) is not None
            and (check[1].fullmatch(national) is not None)
        )


def _desc_pattern(desc: Any, length: int) -> str | None:
    """The desc's national pattern when a number of this length may match it (else None)."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)


@lru_cache(maxsize=8192)
def _length_checks(
    country: _Country, length: int
) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """(general pattern, any type's pattern) for national numbers of ``length`` digits."""
    general = _desc_pattern(country.general, length)
    kinds = [p for p in (_desc_pattern(k, length) for k in country.kinds) if p is not None]
    if general is None or not kinds:
        return None
    return re.compile(general), re.compile("|".join(f"(?:{p})" for p in kinds))


@lru_cache(maxsize=4096)
def _country(country_code: int) -> _Country:
    import phonenumbers
    from phonenumbers import PhoneMetadata

    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    region = phonenumbers.region_code_for_country_code(country_code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return _Country(known=False)
    pattern = metadata.national_prefix_for_parsing
    prefix = re.compile(pattern) if pattern else None
    if phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY in regions or not regions:
        return _Country(known=True, national_prefix=prefix)
    if len(regions) == 1:
        return _region_checks(metadata, prefix)
    shared = []
    for name in regions:
        region_metadata = PhoneMetadata.metadata_for_region(name.upper(), None)
        if region_metadata is not None:
            shared.append(_region_checks(region_metadata, None))
    return _Country(known=True, national_prefix=prefix, regions=tuple(shared))


def _region_checks(metadata: Any, prefix: re.Pattern[str] | None) -> _Country:
    # A number is valid when it matches the general pattern and any type's pattern
    # (phonenumbers' number type is not UNKNOWN): the commonest types are tried first.
    kinds = (metadata.mobile, metadata.fixed_line, metadata.premium_rate, metadata.toll_free,
             metadata.shared_cost, metadata.voip, metadata.personal_number, metadata.pager,
             metadata.uan, metadata.voicemail)  # fmt: skip
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits is not None else None
    return _Country(True, prefix, metadata.general_desc, tuple(k for k in kinds if k is not None),
                    leading)  # fmt: skip


_UNSURE = ""


@lru_cache(maxsize=1024)
def _code_size(prefix: str) -> int:
    """How many of these (up to three) leading digits make a calling code; 0 when none does."""
    import phonenumbers

    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    for size in (1, 2, 3):
        if int(prefix[:size]) in codes:
            return size
    return 0


def _international(digits: str) -> str | None:
    """E.164 for a valid ``+digits`` number, None when invalid, "" when unsure (use the slow path).

    Equivalent to phonenumbers' parse + is_valid_number + format for numbers whose national part
    has no national prefix to strip and no leading zero; those others take the full parser.
    """
    body = digits[1:]
    if not body or body[0] == "0":
        return _UNSURE
    size = _code_size(body[:3])
    if not size:
        return _UNSURE
    code = int(body[:size])
    national = body[size:]
    if not 2 <= len(national) <= 17 or national[0] == "0":
        return _UNSURE
    country = _country(code)
    if not country.known or (
        country.national_prefix is not None and country.national_prefix.match(national)
    ):
        return _UNSURE
    if not country.fast:
        import phonenumbers

        number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
        valid = phonenumbers.is_valid_number(number)
    else:
        valid = country.valid(national)
    return f"+{code}{national}" if valid else None


@lru_cache(maxsize=16384)
def _national(digits: str, region: str) -> Phone:
    return normalize_phone(digits, region)


def fast_phone(value: str, region: str) -> Phone:
    """``normalize_phone`` for plainly written numbers (digits, spaces, ``-``, ``.``, brackets)."""
    return Phone(*_phone_parts(value, region))


def _phone_parts(value: str, region: str) -> tuple[str, str, bool]:
    """``fast_phone``'s number, raw text and whether it is normalised, as a tuple (the import's
    rows hold them so; no ``Phone`` built and taken apart for each)."""
    raw = value.strip()
    if raw[:4].lower() == "tel:":
        raw = raw[4:]
    if len(raw) <= 60 and _PHONE_SHAPE.match(raw):
        digits = raw.translate(_PHONE_PUNCTUATION)
        if len(digits) > 1 and "+" not in digits[1:]:
            if digits[0] == "+":
                number = _international(digits)
                if number is None:
                    return raw, raw, False
                if number != _UNSURE:
                    return number, raw, True
            else:
                cached = _national(digits, region)
                if cached.normalized:
                    return cached.number, raw, True
                return raw, raw, False
    phone = normalize_phone(value, region)
    return phone.number, phone.raw, phone.normalized


@lru_cache(maxsize=4096)
def _tags(cells: tuple[str, ...]) -> tuple[str, ...]:
    """A row's tags from its tag cells (Google's system labels dropped); few distinct values."""
    tags = [t for cell in cells for t in _split_multi(cell)]
    return tuple(
        contact_values.normalize_tags(
            t.lstrip("* ").strip() for t in tags if fold(t) not in GOOGLE_SYSTEM_LABELS
        )
    )


_YES = frozenset(("1", "yes", "true", "y", "sim", "oui", "si", "x"))
_PLAIN_FIELDS = ("title", "notes", "source", "campaign", "language", "best_time", "preferred_channel",
                 "address_street", "address_city", "address_region", "address_postcode", "address_country")  # fmt: skip


def row_to_contact(
    values: dict[str, list[str]], custom: dict[str, str], *, region: str, date_order: str
) -> tuple[contact_values.NewContact, str | None]:
    """Validate one row's mapped values; returns the contact and its company name."""
    first = {k: v[0] for k, v in values.items() if v}
    name = clean(first.get("name"))
    given, family = clean(first.get("given_name")), clean(first.get("family_name"))
    company = clean(first.get("company"))
    if not name and not given and not family:
        if not company:
            raise ValidationError("name", "a row needs a name or a company")
        name = company
    fields: dict[str, Any] = {}
    for key in _PLAIN_FIELDS:
        if key in first and clean(first[key]):
            fields[key] = first[key]
    if given:
        fields["given_name"] = given
    if family:
        fields["family_name"] = family
    if "do_not_contact" in first and clean(first["do_not_contact"]):
        fields["do_not_contact"] = fold(first["do_not_contact"]) in _YES
    if "cadence_days" in first and clean(first["cadence_days"]):
        try:
            fields["cadence_days"] = int(first["cadence_days"])
        except ValueError as exc:
            raise ValidationError(
                "cadence_days", f"{first['cadence_days']!r} is not a number of days"
            ) from exc
    if "birthday" in first and clean(first["birthday"]):
        fields.update(_birthday(first["birthday"], date_order))
    if custom:
        fields["custom_fields"] = custom
    display_name = contact_values._display_name(name, fields)
    fields = contact_values.validated_fields(fields)
    emails: list[tuple[str, str | None]] = []
    if "email" in values:
        seen: set[str] = set()
        for cell in values["email"]:
            for text in _split_multi(cell):
                email = fast_email(text)
                key = email.lower()
                if key not in seen:
                    seen.add(key)
                    emails.append((email, None))
    phones: list[tuple[Phone, str | None]] = []
    if "phone" in values:
        seen_numbers: set[str] = set()
        for cell in values["phone"]:
            for text in _split_multi(cell.replace(" ::: ", ";")):
                phone = fast_phone(text, region)
                if phone.number not in seen_numbers:
                    seen_numbers.add(phone.number)
                    phones.append((phone, None))
    tags = list(_tags(tuple(values["tags"]))) if "tags" in values else []
    contact = contact_values.NewContact(
        display_name=display_name, fields=fields, emails=emails, phones=phones, tags=tags
    )
    if "uuid" in first and clean(first["uuid"]):
        contact.uuid = first["uuid"].strip().lower()
    return contact, company


@lru_cache(maxsize=16384)
def _fold_word(word: str) -> str:
    return fold.__wrapped__(word)  # type: ignore[attr-defined, no-any-return]


def _fold(text: str) -> str:
    """``fold`` for a name, without its cache (an import's names are mostly unique, and each one
    would push out a cached one): ASCII text is only lower-cased and its spaces collapsed, other
    text folded word by word: an ASCII word only lower-cased, others through a cache of their
    own (first and last names repeat). Same result (NFKD, accents, case and whitespace never
    reach across whitespace; a test compares both)."""
    if text.isascii():
        return " ".join(text.lower().split())
    words = [w.lower() if w.isascii() else _fold_word(w) for w in text.split()]
    return " ".join(" ".join(words).split())


def _clean(text: str) -> str | None:
    """``clean`` for a str, without its regular expression when there is nothing to remove
    (no character ``clean`` drops is printable)."""
    if text.isprintable():
        return text.strip() or None
    return clean(text)


# The targets ``_plain_record`` handles; a row with any other (birthday, uuid, …) takes
# ``row_to_contact``.
_FAST_TARGETS = frozenset(("name", "given_name", "family_name", "email", "phone", "company", "tags",
                           *(k for k in _PLAIN_FIELDS if k in contact_values.TEXT_FIELDS)))  # fmt: skip
_FAST_PATH = True  # tests turn it off to compare both paths


def _plain_record(
    values: dict[str, list[str]], custom: dict[str, str], region: str,
    plain: Sequence[str] = _PLAIN_FIELDS,
) -> tuple[Record, str | None]:  # fmt: skip
    """``row_to_contact`` + ``_to_record`` for a row of plain text fields, e-mails, phones and
    tags (most rows), in a third of the time: each cell cleaned once, no ``NewContact``.
    The same result, error for error (a test compares both on random rows). ``plain``: the
    file's targets among ``_PLAIN_FIELDS``, in that order."""
    get = values.get
    cells = get("name")
    name = _clean(cells[0]) if cells else None
    cells = get("given_name")
    given = _clean(cells[0]) if cells else None
    cells = get("family_name")
    family = _clean(cells[0]) if cells else None
    cells = get("company")
    company = _clean(cells[0]) if cells else None
    if not name and not given and not family:
        if not company:
            raise ValidationError("name", "a row needs a name or a company")
        name = company
    fields: dict[str, Any] = {}
    for key in plain:
        cells = get(key)
        if cells:
            text = _clean(cells[0])
            if text:
                fields[key] = text
    if given:
        fields["given_name"] = given
    if family:
        fields["family_name"] = family
    if custom:
        fields["custom_fields"] = custom
    display_name = name or " ".join(p for p in (given, family) if p)
    if not display_name:
        raise ValidationError("name", "must not be empty")
    if len(display_name) > 300:
        raise ValidationError("name", "is longer than 300 characters")
    emails: list[tuple[str, str | None]] = []
    cells = get("email")
    if cells:
        seen: set[str] = set()
        for cell in cells:
            for text in _split_multi(cell):
                email = fast_email(text)
                key = email.lower()
                if key not in seen:
                    seen.add(key)
                    emails.append((email, None))
    phones: list[tuple[str, str | None, bool, str | None]] = []
    cells = get("phone")
    if cells:
        seen_numbers: set[str] = set()
        for cell in cells:
            for text in _split_multi(cell.replace(" ::: ", ";")):
                number, raw, normalized = _phone_parts(text, region)
                if number not in seen_numbers:
                    seen_numbers.add(number)
                    phones.append((number, raw, normalized, None))
    cells = get("tags")
    tags = list(_tags(tuple(cells))) if cells else []
    fields["name_key"] = _fold(display_name)  # as NewContact sets it (lists sort by it)
    return [display_name, fields, emails, phones, tags, None, None], company


# --- planning --------------------------------------------------------------------------------


def plan_import(
    session: Session | None,
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
    write_ahead: bool = False,
    skip_invalid: bool = False,
    first: FirstImport | None = None,
) -> Plan:
    """Read, validate and match every row; nothing is committed.

    ``write_ahead`` (SQLite, larger files): the caller will ``apply_import`` this plan right
    away unless rows are rejected, and writes nothing else in between. The new contacts are then
    written, in one uncommitted transaction of a writing process, while the rest of the file is
    still being validated, and ``apply_import`` only finishes and commits it (see
    ``csv_write_ahead``). A rejected row cancels that (strict imports write nothing), and so does
    ``Plan.close`` or the plan being dropped. Leave it off for ``--dry-run`` and when something
    else is written before the import: that writer would wait for the import's lock.
    When a writing process starts, ``session``'s transaction is ended and its engine's pooled
    connections closed first (``_release``; they reopen if used): a writer with the file to
    itself writes each page once (``csv_write_ahead._journal``).
    ``skip_invalid``: the caller imports the valid rows even when some are rejected
    (``--skip-invalid``), so a rejected row does not cancel the writing.
    ``first`` (and no ``session``): an import into an empty contact book, planned from this
    snapshot of the database without opening it (``csv_write_ahead.FirstImport``) and written
    ahead; the caller then finishes it with ``commit_written`` when ``Plan.written``, else with
    ``apply_import`` as usual.
    """
    if session is None and first is None:
        raise TypeError("plan_import needs a session or a FirstImport")
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
                          on_duplicate, region, date_order, progress, write_ahead,
                          skip_invalid, first)  # fmt: skip
    finally:
        if gc_was_enabled:
            gc.enable()


CHUNK_ROWS = 5_000  # rows validated, matched and spooled together


def _sql(text: str) -> Any:
    """A SQL text clause: SQLAlchemy is loaded only once a session reads the database (a first
    import into a new contact book plans without it, see ``csv_write_ahead.FirstImport``)."""
    import sqlalchemy as sa

    return sa.text(text)


def _next_company_id(session: Session) -> int:
    return 1 + int(session.execute(_sql("SELECT coalesce(max(id), 0) FROM company")).scalar_one())


def _release(session: Session) -> None:
    """End the session's transaction and close the connections its engine keeps (reopened if
    it is used again)."""
    session.close()
    session.get_bind().dispose()


def _plan_rows(
    session: Session | None, path: Path, source: str, chosen: str, sep: str, preset: str,
    overrides: dict[str, str] | None, saved_mapping: dict[str, str] | None, on_duplicate: str,
    region: str, date_order: str, progress: Callable[[int], None] | None, write_ahead: bool = False,
    skip_invalid: bool = False, first: FirstImport | None = None,
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
        mapping.update({h: t for h, t in map_headers(missing, preset).items()} if missing else {})
        mapping.update(overrides or {})
    else:
        mapping = map_headers(headers, preset, overrides)
    plan = Plan(source=source, encoding=chosen, delimiter=sep, mapping=mapping, headers=headers)
    reader = _ChunkReader(path, source, chosen, sep, headers, mapping, region, date_order)
    matcher = _Matcher(session, plan, on_duplicate)
    ahead: WriteAhead | None = None
    next_company: int | None = None
    if first is not None:
        from pycrm.io.csv_write_ahead import WriteAhead

        matcher.preload(first.companies)
        next_company = first.next_company
        if WRITE_AHEAD_MIN_BYTES <= path.stat().st_size <= WRITE_AHEAD_MAX_BYTES:
            ahead = WriteAhead.start_file(first.path, source)
    elif (
        session is not None
        and write_ahead
        and session.get_bind().dialect.name == "sqlite"
        and WRITE_AHEAD_MIN_BYTES <= path.stat().st_size <= WRITE_AHEAD_MAX_BYTES
        # Into an empty contact table every row is new: the case worth a writing process (a
        # re-import, all skipped, would pay for it and for validating on one core instead).
        and session.execute(_sql("SELECT 1 FROM contact LIMIT 1")).first() is None
    ):
        from pycrm.io.csv_write_ahead import WriteAhead

        if WriteAhead.file_of(session) is not None:
            # What the plan reads from the database, read now, from the caller's snapshot: then
            # this process lets go of the file, and the writing process, if it is then the only
            # one with the file open, writes the new pages once (rollback journal, no WAL copy).
            next_company = _next_company_id(session)
            matcher.read_ahead()
            _release(session)
            ahead = WriteAhead.start(session, source)
    # With a writing process, this one validates the file itself: forked validators would not
    # end it sooner (the two cores are busy: this process, and the writer), and they would cost
    # their memory (a 200 MB peak with them) and CPU time (each parses the whole file).
    workers = 1 if ahead is not None else _worker_count(path)
    # The writing process builds the rows it inserts from the records handed over (since it
    # writes each page once it has the time: 100k rows, ~3 s writing against ~4.5 s validating
    # and matching here). New companies are numbered here, from the id the company table gives
    # next; it checks them, and fails (this falls back to the spool) if another program took them.
    if next_company is None:
        assert session is not None
        next_company = _next_company_id(session)
    company_ids: dict[str, int] = {}
    size = max(1, path.stat().st_size)
    try:
        chunks = _parallel_chunks(reader, workers) if workers > 1 else reader.chunks()
        for count, valid, rejected in chunks:
            plan.rows += count
            plan.rejected.extend(rejected)
            # With a writer, the new contacts are spooled as handed to it (dumped once).
            matcher.caller_spools = ahead is not None
            stored = matcher.feed(valid)
            if ahead is not None and plan.rejected and not skip_invalid:
                ahead.close()  # strict: nothing will be written; else it comes from the spool
                ahead = None
            if stored is not None and matcher.caller_spools and ahead is None:
                plan._creates.write(stored[0])
            elif ahead is not None and stored is not None:
                creates, companies = stored
                new = [(key, name) for key, name in companies if key not in company_ids]
                company_ids.update((key, next_company + i) for i, (key, _) in enumerate(new))
                kind, data = plan._creates.write(creates)
                done = reader.position / size
                if not ahead.send(new, next_company, kind, data, done):
                    ahead.close()
                    ahead = None
                next_company += len(new)
            if progress:
                progress(plan.rows)
        if ahead is not None and ahead.finish():
            plan._ahead, ahead = ahead, None
        plan._offline = matcher.offline
    except BaseException:
        plan.close()
        raise
    finally:
        matcher.seen_in_file.close()
        if ahead is not None:  # it failed: the spool still holds everything
            ahead.close()
    if plan.rows == 0:
        plan.close()
        raise ImportError_(f"{source}: only a header row, no contacts to import")
    plan.new_companies = sorted(matcher.new_company_names.values(), key=fold)
    return plan


_Parsed = list[tuple[int, Record, str | None]]
_Chunk = tuple[int, _Parsed, list[Problem]]  # (rows read, valid rows, rejected rows)


class _ChunkReader:
    """Reads and validates the file's records ``CHUNK_ROWS`` at a time (``chunks``)."""

    def __init__(
        self, path: Path, source: str, encoding: str, sep: str, headers: list[str],
        mapping: dict[str, str], region: str, date_order: str,
    ) -> None:  # fmt: skip
        self.path, self.source, self.encoding, self.sep = path, source, encoding, sep
        self.headers, self.mapping = headers, mapping
        self.region, self.date_order = region, date_order
        self.position = 0  # bytes of the file read so far (roughly: the reads are buffered)

    def chunks(self, part: int = 0, parts: int = 1) -> Iterator[_Chunk]:
        """(rows, valid, rejected) for every ``parts``-th chunk of records from the ``part``-th.

        Every reader parses the whole file (cheap next to validation), so chunk boundaries and
        line numbers are the same whichever process validates a chunk.
        """
        headers, mapping = self.headers, self.mapping
        region, date_order = self.region, self.date_order
        # Per column: its index and target, with ignored columns left out (a later duplicate
        # header wins over an earlier one, as a dict of the row's cells would have it).
        last_index = {h: i for i, h in enumerate(headers)}
        columns = [
            (i, mapping.get(h, "ignore"))
            for i, h in enumerate(headers)
            if last_index[h] == i and mapping.get(h, "ignore") != "ignore"
        ]
        width = len(headers)
        fast = _FAST_PATH
        targets = set(mapping.values())
        plain = tuple(k for k in _PLAIN_FIELDS if k in targets)
        columns_ = [(i, t, t[7:] if t.startswith("custom:") else None) for i, t in columns]
        with open_text(self.path, self.encoding) as handle:
            buffer = getattr(handle, "buffer", None)
            rows = read_rows(handle, self.source, self.sep)
            next(rows)  # the header
            index = 0
            while True:
                block = list(itertools.islice(rows, CHUNK_ROWS))
                if not block:
                    return
                mine = index % parts == part
                index += 1
                if not mine:
                    continue
                count = 0
                valid: _Parsed = []
                rejected: list[Problem] = []
                for line, cells in block:
                    if not "".join(cells).strip():  # a blank row: every cell blank
                        continue
                    count += 1
                    if len(cells) > width:
                        raw = dict(zip(headers, cells, strict=False))
                        rejected.append(
                            Problem(line, "(row)", f"{len(cells)} cells but {width} columns", raw)
                        )
                        continue
                    values: dict[str, list[str]] = {}
                    custom: dict[str, str] = {}
                    ncells = len(cells)
                    for i, target, custom_name in columns_:
                        if i >= ncells:
                            continue
                        cell = cells[i]
                        if not cell.strip():
                            continue
                        if cell[:1] == "'" and cell[1:2] in ("=", "@", "+", "-", "\t", "\r"):
                            cell = cell[1:]  # undo our export's formula neutralising
                        if custom_name is not None:
                            custom[custom_name] = cell.strip()
                        elif target in values:
                            values[target].append(cell)
                        else:
                            values[target] = [cell]
                    try:
                        if fast and values.keys() <= _FAST_TARGETS:
                            record, company = _plain_record(values, custom, region, plain)
                            valid.append((line, record, company))
                            continue
                        contact, company = row_to_contact(
                            values, custom, region=region, date_order=date_order
                        )
                    except ValidationError as exc:
                        column = next(
                            (
                                h
                                for h, t in mapping.items()
                                if t == exc.field or t.startswith(exc.field)
                            ),
                            exc.field,
                        )
                        raw = dict(zip(headers, cells, strict=False))
                        rejected.append(Problem(line, column, exc.reason, raw))
                        continue
                    valid.append((line, _to_record(contact), company))
                if buffer is not None:
                    self.position = buffer.tell()
                yield count, valid, rejected


PARALLEL_MIN_BYTES = 2_000_000  # smaller files are validated in-process (a fork costs ~50 ms)


def _worker_count(path: Path) -> int:
    """How many processes validate the file: two on a machine with two cores or more."""
    import os

    if not hasattr(os, "fork") or path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def _parallel_chunks(reader: _ChunkReader, workers: int) -> Iterator[_Chunk]:
    """``reader.chunks()``, validated by ``workers`` forked processes taking chunks in turn.

    The main process only matches and spools what they send back (in file order), so parsing
    and validating, most of the planning's time, run on several cores. A worker's error (a
    broken file) is raised here as the same ``ImportError_``.
    """
    import os
    import signal

    # Loaded before forking so the workers share these pages instead of loading their own.
    import phonenumbers  # noqa: F401
    from email_validator import validate_email  # noqa: F401

    pipes: list[IO[bytes]] = []
    pids: list[int] = []
    try:
        for part in range(workers):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the worker (coverage does not follow)
                os.close(read_fd)
                _worker_main(reader, part, workers, write_fd)
            os.close(write_fd)
            pids.append(pid)
            pipes.append(os.fdopen(read_fd, "rb", buffering=1 << 20))
        turn = 0
        while True:
            kind, data = _read_frame(pipes[turn % workers])
            turn += 1
            if kind == b"C":
                count, valid, rejected = marshal.loads(data)
                yield count, valid, [Problem(*p) for p in rejected]
            elif kind == b"P":
                yield pickle.loads(data)
            elif kind == b"D":
                return
            elif kind == b"E":
                raise ImportError_(data.decode("utf-8", "replace"))
            else:
                raise RuntimeError(
                    "a validating process failed: " + data.decode("utf-8", "replace")
                )
    finally:
        for pipe in pipes:
            pipe.close()
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _read_frame(pipe: IO[bytes]) -> tuple[bytes, bytes]:
    header = pipe.read(9)
    if len(header) < 9:
        return b"X", b"it ended without a word (killed?)"
    size = int.from_bytes(header[1:], "little")
    data = pipe.read(size)
    if len(data) < size:
        return b"X", b"it ended mid-message (killed?)"
    return header[:1], data


def _worker_main(reader: _ChunkReader, part: int, parts: int, fd: int) -> None:  # pragma: no cover
    """A forked validator: sends its chunks as frames on ``fd``, then exits without cleanup."""
    import os
    import traceback

    code = 0
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as out:

            def send(kind: bytes, data: bytes) -> None:
                out.write(kind + len(data).to_bytes(8, "little"))
                out.write(data)

            try:
                for count, valid, rejected in reader.chunks(part, parts):
                    problems = [(p.line, p.column, p.reason, p.row) for p in rejected]
                    try:
                        send(b"C", marshal.dumps((count, valid, problems)))
                    except ValueError:
                        send(b"P", pickle.dumps((count, valid, rejected), pickle.HIGHEST_PROTOCOL))
                send(b"D", b"")
            except ImportError_ as exc:
                send(b"E", str(exc).encode("utf-8"))
            except Exception:
                send(b"X", traceback.format_exc().encode("utf-8"))
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _lookup(session: Session, sql: str, keys: list[str]) -> Iterator[tuple[Any, Any]]:
    """(key, id) rows of ``sql`` (which has ``IN :keys``) for these keys, 5,000 at a time.

    On SQLite the keys go as one JSON array (``json_each``): SQLAlchemy renders an expanding
    ``IN`` as one bound parameter per key, a third of the matching's time at 100k rows.
    """
    if not keys:
        return
    if session.get_bind().dialect.name == "sqlite":
        execute = session.connection().exec_driver_sql
        driver_sql = sql.replace("IN :keys", "IN (SELECT value FROM json_each(?))")
        for start in range(0, len(keys), CHUNK_ROWS):
            chunk = json.dumps(keys[start : start + CHUNK_ROWS], ensure_ascii=False)
            yield from ((key, record_id) for key, record_id in execute(driver_sql, (chunk,)))
        return
    import sqlalchemy as sa

    statement = sa.text(sql).bindparams(sa.bindparam("keys", expanding=True))
    for start in range(0, len(keys), CHUNK_ROWS):
        rows = session.execute(statement, {"keys": keys[start : start + CHUNK_ROWS]})
        yield from ((key, record_id) for key, record_id in rows)


class _SeenKeys:
    """The first line of this file that used each matching key (e-mail, phone or name+company).

    Held in a dict (``memory``) until it holds ``IN_MEMORY`` keys (~100k rows: ~20 MB),
    then moved to a private temporary SQLite file, looked up and added a chunk at a time, so a
    million-row file does not hold three million keys in memory (368 MB at 1M rows as a dict).
    The dict saves the file's lookups and inserts: ~0.9 s of planning 100k rows.
    """

    IN_MEMORY = 200_000

    def __init__(self) -> None:
        self.memory: dict[str, int] | None = {}  # None once the keys are on disk
        self._db: Any = None

    def lines(self, keys: set[str]) -> dict[str, int]:
        """The first line of each of ``keys`` already added (on disk: see ``memory``)."""
        found: dict[str, int] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.execute(f"SELECT key, line FROM seen WHERE key IN ({marks})", chunk)
            )
        return found

    def add(self, pairs: list[tuple[str, int]]) -> None:
        """Remember keys with their first line: ``pairs`` are new to ``lines`` (on disk), or
        already in ``memory`` (then they move to disk once there are too many)."""
        insert = "INSERT OR IGNORE INTO seen VALUES (?, ?)"
        if self.memory is None:
            self._db.executemany(insert, sorted(pairs))
            return
        if len(self.memory) <= self.IN_MEMORY:
            return
        import sqlite3

        memory, self.memory = self.memory, None
        self._db = sqlite3.connect("")  # "": a private on-disk temporary database
        self._db.execute("PRAGMA cache_size = -8192")  # at most ~8 MB of pages in memory
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")
        self._db.executemany(insert, ((key, memory[key]) for key in sorted(memory)))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()


class _Matcher:
    """Decides create / update / skip per row, a chunk at a time: e-mail, else phone, else name +
    company. Existing records are looked up per chunk (one query per kind of key); rows already
    seen in this file are remembered by their small keys only."""

    def __init__(self, session: Session | None, plan: Plan, policy: str) -> None:
        self.session = session
        self.plan = plan
        self.policy = policy
        self.seen_in_file = _SeenKeys()
        self.company_ids: dict[str, int | None] = {}  # folded name → id (None: to be created)
        self.new_company_names: dict[str, str] = {}
        self.name_company: dict[tuple[str, str], int] | None = None
        self.no_contacts: bool | None = None
        # The caller spools the new contacts itself (as the rows it hands a writing process).
        self.caller_spools = False
        self.offline = False  # ``read_ahead``: everything is known, the database is not read

    def read_ahead(self) -> None:
        """Read now all this matcher would read (for an empty contact table: the companies),
        and never read the database again."""
        assert self.session is not None
        if self.session.execute(_sql("SELECT 1 FROM contact LIMIT 1")).first() is not None:
            raise RuntimeError("read_ahead is for an import into an empty contact table")
        self.preload(
            [tuple(row) for row in self.session.execute(_sql("SELECT name_key, id FROM company"))]
        )

    def preload(self, companies: Iterable[tuple[str, int]]) -> None:
        """Plan against an empty contact table and these companies (folded name, id; the
        lowest id wins for a name), and never read the database."""
        for key, cid in sorted(companies, key=lambda pair: pair[1]):
            self.company_ids.setdefault(key, cid)
        self.no_contacts = True
        self.offline = True

    def _names(self) -> dict[tuple[str, str], int]:
        if self.name_company is None:
            self.name_company = {}
            for cid, name, company in self.session.execute(
                _sql(
                    "SELECT c.id, c.display_name, co.name FROM contact c "
                    "LEFT JOIN company co ON co.id = c.company_id ORDER BY c.id"
                )
            ):
                self.name_company.setdefault((fold(name), fold(company or "")), cid)
        return self.name_company

    def feed(self, parsed: _Parsed) -> tuple[list[Record], list[tuple[str, str]]] | None:
        """Match and spool one chunk; returns its new contacts (already spooled: free to change)
        with the (folded key, name) of each company they name that is still to be created."""
        if not parsed:
            return None
        session, plan, policy = self.session, self.plan, self.policy
        if self.no_contacts is None:
            # Asked in the read transaction the lookups below share: true for the whole plan.
            self.no_contacts = (
                session.execute(_sql("SELECT 1 FROM contact LIMIT 1")).first() is None
            )
        no_contacts = self.no_contacts  # then nothing can match an existing contact
        by_email: dict[str, int] = {}
        by_phone: dict[str, int] = {}
        by_uuid: dict[str, int] = {}
        if not no_contacts:
            emails = sorted({e.lower() for _, r, _ in parsed for e, _ in r[EMAILS]})
            phones = sorted({p[0] for _, r, _ in parsed for p in r[PHONES] if p[2]})
            for key, cid in _lookup(session, "SELECT email_key, contact_id FROM contact_email "
                                    "WHERE email_key IN :keys ORDER BY id", emails):  # fmt: skip
                by_email.setdefault(key, cid)
            for number, cid in _lookup(session, "SELECT number, contact_id FROM contact_phone "
                                       "WHERE number IN :keys ORDER BY id", phones):  # fmt: skip
                by_phone.setdefault(number, cid)
            uuids = sorted({r[UUID] for _, r, _ in parsed if r[UUID]})
            by_uuid.update(
                _lookup(session, "SELECT uuid, id FROM contact WHERE uuid IN :keys", uuids)
            )
        company_keys: dict[str, str] = {}
        for _, _, company in parsed:
            if company:
                company_keys.setdefault(company, fold(company))
        unknown = sorted({k for k in company_keys.values() if k not in self.company_ids})
        if unknown and not self.offline:
            for key, cid in _lookup(session, "SELECT name_key, id FROM company WHERE name_key "
                                    "IN :keys ORDER BY id", unknown):  # fmt: skip
                if self.company_ids.get(key) is None:
                    self.company_ids[key] = cid
        for key in unknown:
            self.company_ids.setdefault(key, None)
        # Keys of earlier chunks: the store's own dict while it has one (this chunk's keys go
        # straight in), else those of this chunk's keys the on-disk store has, in a small dict.
        keys_of = [_file_keys(r, company) for _, r, company in parsed]
        store = self.seen_in_file
        seen_in_file = (
            store.memory
            if store.memory is not None
            else store.lines({k for keys in keys_of for k in keys})
        )
        new_keys: list[tuple[str, int]] = []
        creates: list[Record] = []
        updates: list[tuple[int, Record, dict[str, Any]]] = []
        for (line, record, company), file_keys in zip(parsed, keys_of, strict=True):
            existing = None
            if not no_contacts:
                existing = by_uuid.get(record[UUID]) if record[UUID] else None
                for email, _ in record[EMAILS]:
                    existing = existing or by_email.get(email.lower())
                for number, _raw, normalized, _label in record[PHONES]:
                    if existing is None and normalized:
                        existing = by_phone.get(number)
                if existing is None and not record[EMAILS] and not record[PHONES]:
                    name_key = (_fold(record[NAME]), fold(company or ""))
                    existing = self._names().get(name_key)
            earlier = next((seen_in_file[k] for k in file_keys if k in seen_in_file), None)
            if (
                policy == "create"
                and record[UUID]
                and (existing is not None or f"uuid:{record[UUID]}" in seen_in_file)
            ):
                record[UUID] = None  # a deliberate copy gets its own identity
            skip = policy == "skip" and existing is not None
            skip = skip or (existing is None and earlier is not None and policy != "create")
            if company and not skip:  # a skipped row creates nothing, not even its company
                key = company_keys[company]
                company_id = self.company_ids.get(key)
                if company_id is not None:
                    record[COMPANY_ID] = company_id
                else:
                    self.new_company_names.setdefault(key, company.strip())
                    record[FIELDS]["_company_key"] = key
            if existing is not None and policy != "create":
                if policy == "skip":
                    plan.skipped.append((line, existing))
                else:
                    extra = {"line": line, "company": company}
                    plan.update.append((existing, line))
                    if len(plan.update_preview) < 20:
                        plan.update_preview.append((existing, _from_record(record), extra))
                    updates.append((existing, record, extra))
                continue
            if earlier is not None and policy != "create":
                plan.skipped.append((line, -earlier))  # a duplicate of an earlier row of this file
                continue
            for k in file_keys:
                if k not in seen_in_file:
                    seen_in_file[k] = line
                    new_keys.append((k, line))
            creates.append(record)
            plan.create.append(line)
        store.add(new_keys)
        plan._updates.write(updates)
        if not creates:
            return None
        if not self.caller_spools:
            plan._creates.write(creates)
        keys = {r[FIELDS]["_company_key"] for r in creates if "_company_key" in r[FIELDS]}
        return creates, sorted((k, self.new_company_names[k]) for k in keys)


def _file_keys(record: Record, company: str | None) -> list[str]:
    """The keys that make two rows of one file the same person: their uuid, e-mails and valid
    phones, else the folded name and company."""
    keys = [e.lower() for e, _ in record[EMAILS]] + [p[0] for p in record[PHONES] if p[2]]
    keys = keys or [f"name:{_fold(record[NAME])}|{fold(company or '')}"]
    return [f"uuid:{record[UUID]}", *keys] if record[UUID] else keys


def commit_written(plan: Plan, *, label: str, region: str = "US") -> tuple[dict[str, int], str]:
    """Finish a plan whose new contacts a writing process holds (``Plan.written``): it writes
    the updates too and commits, in a batch labelled ``label``. Loads no SQLAlchemy here.
    The counts and the batch id."""
    assert plan._ahead is not None
    try:
        return plan._ahead.commit(plan, region, label, "import")
    finally:
        plan.close()


def apply_import(session: Session, plan: Plan, *, region: str = "US") -> dict[str, int]:
    """Write a plan in the current transaction (companies, new contacts, updates): see
    :func:`pycrm.io.csv_apply.apply_import` (the writing half, which loads the models)."""
    from pycrm.io import csv_apply

    return csv_apply.apply_import(session, plan, region=region)


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
