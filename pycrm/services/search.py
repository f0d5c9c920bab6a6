"""Search contacts, companies and deals at once: accent- and case-insensitive, prefix matching.

SQLite uses the FTS5 ``search_index``; user text is split into word tokens and each is quoted,
so nothing a person types is read as FTS syntax (``NEAR(``, ``AND``, ``"``, ``*``…). Results are
ranked exact > prefix > other field matches, and when nothing matches a rapidfuzz pass over names
catches typos ("gonsalves" finds Gonçalves). PostgreSQL runs the same passes on indexes of
the accent-folded text (migrations 0003 and 0004): word indexes of names (tsvector, each word
quoted as a lexeme, never parsed as tsquery syntax), trigram indexes for words anywhere, and
near spellings of each word for typos; bound parameters throughout.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the ORM costs ~0.1 s to import; `pycrm find` does not need it
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    # Search runs on an ORM session, a Core connection or, from `pycrm find` on a SQLite file,
    # a plain sqlite3 connection (pycrm.dbfile.open_sqlite_reader): SQLAlchemy is then never
    # imported, ~0.4 s of the command. So every statement here is SQL text with :name
    # parameters, which both run alike (tests/services/test_search_plain_sqlite.py).
    from pycrm.services.sqltext import Queryable

from pycrm.services.sqltext import dialect, is_psycopg
from pycrm.services.sqltext import rows as _rows
from pycrm.services.text import fold

KINDS = ("contact", "company", "deal")
_KIND_CODE = {"contact": 0, "company": 1, "deal": 2}
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TOKENS = 12
MAX_TOKEN_LENGTH = 64
CANDIDATES = 200


@dataclass(frozen=True)
class SearchHit:
    """One search result."""

    kind: str
    id: int
    uuid: str
    label: str
    detail: str
    score: float


def tokenize(query: str) -> list[str]:
    """Word tokens of the query, accent-folded, at most MAX_TOKENS of bounded length."""
    words = _WORD.findall(fold(query or "")[:2000])
    return [w[:MAX_TOKEN_LENGTH] for w in words if w.strip("_")][:MAX_TOKENS]


def _engine(session: Session | sa.Connection) -> sa.Engine:
    """The engine behind a session or a connection."""
    import sqlalchemy as sa

    if isinstance(session, sa.Connection):
        return session.engine
    bind = session.get_bind()
    return bind.engine if isinstance(bind, sa.Connection) else bind


def _dialect(session: Queryable) -> str:
    return dialect(session)


def _database_key(session: Queryable) -> str:
    """Which database ``session`` reads, for caches."""
    if isinstance(session, sqlite3.Connection):
        return "sqlite:///" + str(session.execute("PRAGMA database_list").fetchone()[2])
    if is_psycopg(session):
        info = session.info  # type: ignore[union-attr]
        return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"
    return str(_engine(session).url)  # type: ignore[arg-type]


def fts_match_expression(tokens: Sequence[str]) -> str:
    """A MATCH expression with every token quoted and prefix-matched (``"jose"* "silva"*``)."""
    return " ".join('"' + t.replace('"', '""') + '"*' for t in tokens)


def search(
    session: Queryable,
    query: str,
    *,
    limit: int = 20,
    kinds: Sequence[str] = KINDS,
    fuzzy: bool = True,
) -> list[SearchHit]:
    """Find records by name, e-mail, phone, tag or note; best matches first."""
    tokens = tokenize(query)
    wanted = [k for k in kinds if k in _KIND_CODE]
    if not tokens or not wanted or limit <= 0:
        return []
    if _dialect(session) == "sqlite":
        found = _sqlite_candidates(session, tokens, wanted, limit)
        hits = _describe(session, _sqlite_best(found, tokens, limit), tokens)
    else:
        hits = _postgres_hits(session, tokens, wanted, limit)
    if not hits and fuzzy:
        hits = _fuzzy(session, " ".join(tokens), wanted, limit)
    ranked = sorted(hits, key=lambda h: (-h.score, h.label.casefold(), h.id))
    return ranked[:limit]


def _sqlite_candidates(
    session: Queryable, tokens: list[str], kinds: list[str], per_kind: int
) -> dict[tuple[str, int], tuple[float, str]]:
    """Up to ``per_kind`` candidates of each kind, cheapest and best passes first, with their
    base score and their name as the index holds it.

    1. every token as a whole word of the name, ranked by bm25 (small sets: "silva" is a word
       of ~900 names at 100k contacts);
    2. tokens as prefixes of name words, then 3. as prefixes anywhere (e-mails, phones, tags,
       notes), both unranked: ranking 13,000 matches of "le"* by bm25 cost 80 ms, and the caller
       orders the few candidates it keeps by how well the name matches anyway.

    The ranked pass caps each kind on its own: bm25 favours short documents, so one cap for all
    kinds filled up with deals titled "Renewal for Silva Ltda" and left out the 441 people named
    Silva. The unranked passes take matches in index order, where kinds interleave (rowid =
    id * 4 + kind), under one cap of ``per_kind`` per kind asked for: capping each kind there
    would read a whole long match list ("gmail"*) to learn that no company matches. A later
    pass only adds lower tiers, so it runs only while fewer than ``per_kind`` (the number of
    hits asked for) have been found.
    """
    code_kind = {v: k for k, v in _KIND_CODE.items()}
    codes = ",".join(str(_KIND_CODE[k]) for k in kinds)
    whole = " ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    # The names of the few kept only: selected beside bm25, every match's would be read.
    ranked_pass = (
        "SELECT r.rowid, r.rank, d.name FROM ("
        + " UNION ALL ".join(
            "SELECT * FROM (SELECT rowid, bm25(search_index, 10.0, 6.0, 6.0, 3.0, 1.0) AS rank "
            f"FROM search_index WHERE search_index MATCH :q AND (rowid % 4) = {_KIND_CODE[kind]} "
            "ORDER BY rank LIMIT :n)"
            for kind in kinds
        )
        + ") AS r JOIN search_index AS d ON d.rowid = r.rowid"
    )
    # bm25 only where it orders the pass: computed for every row of an unranked pass, it was
    # most of the cost ("maria"* "s"*: 11 ms against 5 ms without it; "ma"*: 3.7 ms against
    # 0.3 ms), for a value nothing read.
    unranked_pass = (
        f"SELECT rowid, 0, name FROM search_index WHERE search_index MATCH :q "
        f"AND (rowid % 4) IN ({codes}) LIMIT :n"
    )
    passes = [
        ("{name} : (" + whole + ")", ranked_pass, per_kind),
        ("{name} : (" + fts_match_expression(tokens) + ")", unranked_pass, per_kind * len(kinds)),
        (fts_match_expression(tokens), unranked_pass, per_kind * len(kinds)),
    ]
    found: dict[tuple[str, int], tuple[float, str]] = {}
    for expression, sql, wanted in passes:
        for rowid, score, name in _rows(session, sql, {"q": expression, "n": wanted}):
            found.setdefault((code_kind[rowid % 4], rowid // 4), (-float(score), name or ""))
        if len(found) >= per_kind:
            break
    return found


def _sqlite_best(
    found: dict[tuple[str, int], tuple[float, str]], tokens: list[str], limit: int
) -> dict[tuple[str, int], float]:
    """The ``limit`` candidates that rank first, in the order :func:`search` sorts hits by,
    judged from the names the index holds, so that only those are described (e-mails,
    companies, stages, amounts). E-mails and domains, which :func:`_tier` also reads, decide a
    tier only when one equals the whole query, which holds no "@" or "." (words only)."""
    ranked = sorted(
        (
            -(_tier(label, [], tokens) * 1000.0 + (2 - _KIND_CODE[kind]) * 100.0 + base),
            label.casefold(),
            record_id,
            kind,
        )
        for (kind, record_id), (base, label) in found.items()
    )
    return {
        (kind, record_id): found[(kind, record_id)][0] for *_, record_id, kind in ranked[:limit]
    }


def _like(token: str) -> str:
    escaped = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# Must match, character for character, the expressions migration 0003 indexes with pg_trgm, so
# that LIKE '%word%' (three letters or more) and the typo pass are index scans instead of
# folding every row of the table.
PG_PERSON_TEXT = (
    "pycrm_fold(coalesce(display_name, '') || ' ' || coalesce(notes, '') || ' ' "
    "|| coalesce(title, ''))"
)
PG_DOCUMENTS = {
    "company": (
        "company",
        "pycrm_fold(coalesce(name, '') || ' ' || coalesce(domain, '') || ' ' "
        "|| coalesce(website, '') || ' ' || coalesce(phone, '') || ' ' || coalesce(notes, '') "
        "|| ' ' || coalesce(industry, ''))",
    ),
    "deal": (
        "deal",
        "pycrm_fold(coalesce(title, '') || ' ' || coalesce(notes, '') || ' ' "
        "|| coalesce(next_step, ''))",
    ),
}
PG_NAMES = {
    "contact": ("contact", "pycrm_fold(display_name)"),
    "company": ("company", "pycrm_fold(name)"),
    "deal": ("deal", "pycrm_fold(title)"),
}
# The words of each name, as migration 0004 indexes them (GIN): whole-word and word-prefix
# matches are then exact index look-ups, with no row re-read and re-folded to check.
PG_WORDS = {
    "contact": ("contact", "to_tsvector('simple', pycrm_fold(display_name))"),
    "company": ("company", "to_tsvector('simple', pycrm_fold(name))"),
    "deal": ("deal", "to_tsvector('simple', pycrm_fold(title))"),
}


def _lexeme(word: str) -> str:
    """One tsquery lexeme, quoted: its text is never read as tsquery syntax."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


# Every kind's search result in one row shape, so that a single statement describes the hits
# of all kinds (one round trip instead of one per kind and per look-up):
# (kind code, id, uuid, label, a, b, amount, currency, e-mails); ``{ids}`` is a query of ids.
_PG_DESCRIBE = {
    "contact": (
        "SELECT 0, c.id, c.uuid::text, c.display_name::text, co.name::text, NULL::text, "
        "NULL::bigint, NULL::text, ARRAY(SELECT e.email::text FROM contact_email e "
        "WHERE e.contact_id = c.id ORDER BY e.position) "
        "FROM ({ids}) AS m JOIN contact c ON c.id = m.id "
        "LEFT JOIN company co ON co.id = c.company_id"
    ),
    "company": (
        "SELECT 1, co.id, co.uuid::text, co.name::text, co.domain::text, co.industry::text, "
        "NULL::bigint, NULL::text, NULL::text[] FROM ({ids}) AS m JOIN company co ON co.id = m.id"
    ),
    "deal": (
        "SELECT 2, d.id, d.uuid::text, d.title::text, s.name::text, NULL::text, d.amount::bigint, "
        "d.currency::text, NULL::text[] FROM ({ids}) AS m JOIN deal d ON d.id = m.id "
        "JOIN stage s ON s.id = d.stage_id"
    ),
}


def _pg_hit(row: Sequence[Any], score: float) -> SearchHit:
    """A SearchHit from a ``_PG_DESCRIBE`` row, with details shown as ``_labels`` shows them."""
    code, record_id, uuid, label, a, b, amount, currency, emails = row
    kind = KINDS[int(code)]
    if kind == "contact":
        detail = " · ".join(x for x in ((emails or [None])[0], a) if x)
    elif kind == "company":
        detail = " · ".join(x for x in (a, b) if x)
    else:
        from pycrm.money import format_money

        detail = f"{a} · {format_money(amount, currency)}"
    return SearchHit(kind, int(record_id), str(uuid), str(label), detail, score)


# Each kind's candidates as (kind code, id, name, domain): enough to rank them with ``_tier``,
# so that only the few shown are described. A contact's e-mails, the other text ``_tier`` reads,
# can never equal a query (it has no "@"), so they are not fetched for ranking.
_PG_RANKED = {
    "contact": "SELECT 0, c.id, c.display_name::text, NULL::text "
    "FROM ({ids}) AS m JOIN contact c ON c.id = m.id",
    "company": "SELECT 1, co.id, co.name::text, co.domain::text "
    "FROM ({ids}) AS m JOIN company co ON co.id = m.id",
    "deal": "SELECT 2, d.id, d.title::text, NULL::text FROM ({ids}) AS m JOIN deal d ON d.id = m.id",
}


def _pg_describe_best(
    session: Queryable, scores: dict[tuple[str, int], tuple[float, str]], limit: int
) -> list[SearchHit]:
    """The ``limit`` best-scored candidates ((kind, id) → (score, label)), described in one
    statement."""
    best = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[1][1].casefold(), kv[0][1]))
    by_kind: dict[str, list[int]] = {}
    for (kind, record_id), _score in best[:limit]:
        by_kind.setdefault(kind, []).append(record_id)
    # The ids are an array parameter, so the statement's text depends only on the kinds shown
    # and the driver prepares it once (planning it cost about as much as running it).
    id_queries = {kind: f"SELECT unnest(CAST(:ids_{kind} AS integer[])) AS id" for kind in by_kind}
    params: dict[str, object] = {f"ids_{kind}": ids for kind, ids in by_kind.items()}
    return [
        _pg_hit(row, scores[(KINDS[row[0]], row[1])][0])
        for row in _pg_described(session, id_queries, params)
    ]


def _pg_described(
    session: Queryable, id_queries: dict[str, str], params: dict[str, object]
) -> list[Sequence[Any]]:
    """Rows of ``_PG_DESCRIBE`` for each kind's query of ids, in one statement."""
    if not id_queries:
        return []
    sql = " UNION ALL ".join(_PG_DESCRIBE[k].format(ids=q) for k, q in id_queries.items())
    return list(_rows(session, sql, params))


def _postgres_hits(
    session: Queryable, tokens: list[str], kinds: list[str], limit: int
) -> list[SearchHit]:
    """Candidates found and described by the cheapest passes that can fill the first ``limit``.

    As on SQLite: 1. every token a whole word of the name, 2. every token the start of a word
    of the name (both exact look-ups in the word indexes), 3. every token anywhere (name, notes,
    title, e-mail, phone, tag; the trigram indexes). Each pass is one statement that finds the
    candidates of every kind with just what ranks them, each kind stopping at ``limit`` rows
    (within a pass, any ``limit`` of a kind rank alike; SQLite's unranked passes pick as
    arbitrarily). A later pass can only add lower tiers (2 for prefixes, 1 for other fields),
    so it runs only while fewer than ``limit`` hits rank above what it could add; one more
    statement describes the ``limit`` best. "silva" costs two round trips and never reads the
    thousands of rows that merely contain "silva" somewhere.

    A word of three letters or more may appear anywhere; a shorter one must start a word of the
    name, as on SQLite ("jo" finds João, not every "major").
    """
    params: dict[str, object] = {
        "words": " & ".join(_lexeme(t) for t in tokens),
        "prefixes": " & ".join(_lexeme(t) + ":*" for t in tokens),
    }
    for i, token in enumerate(tokens):
        params[f"t{i}"] = _like(token)
        params[f"r{i}"] = "(^| )" + re.escape(token)  # tokens are \w+ only; escaped regardless
    scores: dict[tuple[str, int], tuple[float, str]] = {}
    # (pass, the score from which a hit outranks anything the next pass can add: whole words
    # (tier 2.5) beat prefixes (tier 2, at most 2200 with the kind bonus), which beat matches
    # in other fields (tier 1, at most 1200))
    for pass_, outranks in (("words", 2500.0), ("prefixes", 2000.0), ("anywhere", 0.0)):
        sql = " UNION ALL ".join(
            _PG_RANKED[k].format(ids=_pg_pass_ids(pass_, k, tokens, limit)) for k in kinds
        )
        for code, record_id, label, domain in _rows(session, sql, params):
            key = (KINDS[code], record_id)
            if key not in scores:
                tier = _tier(label, [domain or ""] if domain else [], tokens)
                scores[key] = (tier * 1000.0 + (2 - code) * 100.0, label)
        if sum(s >= outranks for s, _ in scores.values()) >= limit:
            break
    return _pg_describe_best(session, scores, limit)


def _pg_pass_ids(pass_: str, kind: str, tokens: list[str], wanted: int) -> str:
    """The query of up to ``wanted`` ids of ``kind`` that one pass of ``_postgres_hits`` finds.

    Built from fixed expressions and bind parameter names only (``:words``, ``:t0``, ``:r0``…).
    """
    table, name = PG_NAMES[kind]
    if pass_ in ("words", "prefixes"):
        words = PG_WORDS[kind][1]
        return f"SELECT id FROM {table} WHERE {words} @@ CAST(:{pass_} AS tsquery) LIMIT {wanted}"
    if kind != "contact":
        document = PG_DOCUMENTS[kind][1]
        where = " AND ".join(
            f"{name} ~ :r{i}" if len(token) < 3 else f"{document} LIKE :t{i} ESCAPE '\\'"
            for i, token in enumerate(tokens)
        )
        return f"SELECT id FROM {table} WHERE {where} LIMIT {wanted}"
    # People: per word, those whose name / notes / title, e-mail, phone or tag contains it; then
    # those every word found. Set operations avoid a subquery per person.
    per_token = []
    for i, token in enumerate(tokens):
        t = f":t{i}"
        if len(token) < 3:
            per_token.append(f"SELECT c.id FROM contact c WHERE {name} ~ :r{i}")
            continue
        per_token.append(
            f"SELECT c.id FROM contact c WHERE {PG_PERSON_TEXT} LIKE {t} ESCAPE '\\' "
            f"UNION ALL SELECT e.contact_id FROM contact_email e "
            f"WHERE e.email_key LIKE {t} ESCAPE '\\' "
            f"UNION ALL SELECT p.contact_id FROM contact_phone p "
            f"WHERE p.number LIKE {t} ESCAPE '\\' OR p.raw LIKE {t} ESCAPE '\\' "
            f"UNION ALL SELECT ct.contact_id FROM contact_tag ct JOIN tag g ON g.id = ct.tag_id "
            f"WHERE g.name_key LIKE {t} ESCAPE '\\'"
        )
    if len(per_token) == 1:
        # One word: UNION ALL streams, so the scan stops after a few rows (a UNION would first
        # collect every match to remove duplicates); duplicates (a person found by name and by
        # e-mail) go after that LIMIT, which leaves room for them.
        return (
            f"SELECT id FROM (SELECT DISTINCT id FROM (SELECT id FROM ({per_token[0]}) AS f "
            f"LIMIT {2 * wanted}) AS g) AS h LIMIT {wanted}"
        )
    query = " INTERSECT ".join(f"({q})" for q in per_token)
    return f"SELECT id FROM ({query}) AS hits LIMIT {wanted}"


def _tier(label: str, extra: Sequence[str], tokens: list[str]) -> float:
    """3 exact, 2.5 whole words of the name, 2 prefixes of it, 1 matched elsewhere (e-mail, tags…)."""
    folded = fold(label)
    words = _WORD.findall(folded)
    query = " ".join(tokens)
    if folded == query or query in (fold(e) for e in extra):
        return 3
    if all(t in words for t in tokens):
        return 2.5
    if folded.startswith(query) or all(any(w.startswith(t) for w in words) for t in tokens):
        return 2
    return 1


def _describe(
    session: Queryable, found: dict[tuple[str, int], float], tokens: list[str] | None = None
) -> list[SearchHit]:
    """Turn (kind, id) candidates into hits with labels and details, in one query per kind."""
    if not found:
        return []
    hits: list[SearchHit] = []
    by_kind: dict[str, list[int]] = {}
    for kind, record_id in found:
        by_kind.setdefault(kind, []).append(record_id)
    tokens = tokens if tokens is not None else []
    for kind, ids in by_kind.items():
        for record_id, uuid, label, detail, extra in _labels(session, kind, ids):
            base = found[(kind, record_id)]
            tier = _tier(label, extra, tokens) if tokens else 1
            # People first, then companies, then deals, within a tier.
            kind_bonus = (2 - _KIND_CODE[kind]) * 100.0
            hits.append(
                SearchHit(kind, record_id, uuid, label, detail, tier * 1000.0 + kind_bonus + base)
            )
    return hits


def _labels(
    session: Queryable, kind: str, ids: list[int]
) -> list[tuple[int, str, str, str, list[str]]]:
    """(id, uuid, label, detail, extra match texts) per record. Plain SQL: importing the ORM
    models costs a quick command half a second."""
    out: list[tuple[int, str, str, str, list[str]]] = []
    for start in range(0, len(ids), 500):
        chunk = ",".join(str(int(i)) for i in ids[start : start + 500])
        if kind == "contact":
            emails: dict[int, list[str]] = {}
            for cid, email in _rows(
                session,
                f"SELECT contact_id, email FROM contact_email WHERE contact_id IN ({chunk}) "
                "ORDER BY contact_id, position",
            ):
                emails.setdefault(cid, []).append(email)
            rows = _rows(
                session,
                "SELECT c.id, c.uuid, c.display_name, co.name FROM contact c "
                f"LEFT JOIN company co ON co.id = c.company_id WHERE c.id IN ({chunk})",
            )
            for cid, uuid, name, company in rows:
                mail = emails.get(cid, [])
                detail = " · ".join(x for x in (mail[0] if mail else None, company) if x)
                out.append((cid, uuid, name, detail, mail))
        elif kind == "company":
            rows = _rows(
                session,
                f"SELECT id, uuid, name, domain, industry FROM company WHERE id IN ({chunk})",
            )
            for cid, uuid, name, domain, industry in rows:
                out.append(
                    (
                        cid,
                        uuid,
                        name,
                        " · ".join(x for x in (domain, industry) if x),
                        [domain or ""],
                    )
                )
        else:
            from pycrm.money import format_money

            rows = _rows(
                session,
                "SELECT d.id, d.uuid, d.title, s.name, d.amount, d.currency FROM deal d "
                f"JOIN stage s ON s.id = d.stage_id WHERE d.id IN ({chunk})",
            )
            for did, uuid, title, stage, amount, currency in rows:
                out.append((did, uuid, title, f"{stage} · {format_money(amount, currency)}", []))
    return out


_TERMS_CACHE: dict[tuple[str, tuple[object, ...]], list[str]] = {}


def _name_terms(session: Queryable, *, only_cached: bool = False) -> list[str] | None:
    """Distinct words of names in the index, cached until a contact, company or deal changes
    (the vocabulary scan costs ~150-240 ms at 100k contacts; the check a few ms). With
    ``only_cached``, None rather than a scan when the cache is not fresh."""
    # FTS5 rewrites its structure record (block 1 of the %_data table, with a change cookie) on
    # every change to the index, so it is a one-row stamp for "the names may have changed"
    # (max(updated_at) over three tables cost ~90 ms at 100k contacts).
    stamp = (_rows(session, "SELECT block FROM search_index_data WHERE id = 1")[0][0],)
    key = (_database_key(session), stamp)
    cached = _TERMS_CACHE.get(key)
    if cached is None and only_cached:
        return None
    if cached is None:
        rows = _rows(session, "SELECT term FROM temp.search_terms WHERE col = 'name'")
        cached = [t for (t,) in rows]
        _TERMS_CACHE.clear()
        _TERMS_CACHE[key] = cached
    return cached


def _fuzzy(session: Queryable, query: str, kinds: list[str], limit: int) -> list[SearchHit]:
    """Typo-tolerant pass when exact and prefix matching found nothing.

    SQLite: each query word is replaced by the closest words of the index vocabulary (rapidfuzz
    over distinct terms, milliseconds at 100k contacts), then searched again. PostgreSQL: names
    with a word one edit away from each typed word (word indexes), else names sharing trigrams
    with the query; rapidfuzz ranks them.
    """
    from rapidfuzz import fuzz, process

    tokens = query.split(" ")
    if _dialect(session) == "sqlite":
        _rows(
            session,
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms "
            "USING fts5vocab(main, search_index, 'col')",
        )
        # For each typed word, the closest vocabulary words, best first: among the words that
        # start with the same letter (a range of the index, ~6 ms at 100k contacts), else among
        # all (~240 ms to list, cached for the app: a one-shot command paid it every time).
        alternatives: list[list[str]] = []
        cached = _name_terms(session, only_cached=True)
        for token in tokens:
            if cached is not None:
                same_start = [term for term in cached if term.startswith(token[0])]
            else:
                same_start = [
                    term
                    for (term,) in _rows(
                        session,
                        "SELECT term FROM temp.search_terms "
                        "WHERE col = 'name' AND term >= :low AND term < :high",
                        {"low": token[0], "high": chr(ord(token[0]) + 1)},
                    )
                ]
            close = process.extract(token, same_start, scorer=fuzz.ratio, score_cutoff=75, limit=4)
            if not close:
                every = cached if cached is not None else _name_terms(session)
                close = process.extract(
                    token, every or [], scorer=fuzz.ratio, score_cutoff=75, limit=4
                )
            if not close:
                return []
            alternatives.append([c[0] for c in close])
        codes = ",".join(str(_KIND_CODE[k]) for k in kinds)
        rows: list[tuple[int, float]] = []
        seen: set[int] = set()
        # Query the closest spellings first, so a common near-miss cannot crowd out the best one.
        for depth in range(1, max(len(a) for a in alternatives) + 1):
            expression = " AND ".join(
                "(" + " OR ".join('"' + t.replace('"', '""') + '"' for t in alts[:depth]) + ")"
                for alts in alternatives
            )
            for rowid, rank in _rows(
                session,
                "SELECT rowid, bm25(search_index, 10.0, 6.0, 6.0, 3.0, 1.0) FROM search_index "
                f"WHERE search_index MATCH :q AND (rowid % 4) IN ({codes}) ORDER BY rowid % 4, 2 LIMIT :n",
                {"q": "{name} : (" + expression + ")", "n": limit * 3},
            ):
                if rowid not in seen:
                    seen.add(rowid)
                    rows.append((rowid, rank))
            if len(rows) >= limit * 3:
                break
        code_kind = {v: k for k, v in _KIND_CODE.items()}
        hits = _describe(session, {(code_kind[r % 4], r // 4): 0.0 for r, _rank in rows})
        # Rank by how close the name is to what was typed, people first on ties.
        return [
            SearchHit(
                h.kind,
                h.id,
                h.uuid,
                h.label,
                h.detail,
                1000.0 + (2 - _KIND_CODE[h.kind]) * 100.0 + fuzz.WRatio(query, fold(h.label)),
            )
            for h in hits
        ]
    # PostgreSQL, first: names with, for each typed word, a word one edit away (a letter missed,
    # doubled, swapped or mistyped: "gonsalves" → goncalves, "smtih" → smith), as exact look-ups
    # of the near spellings in the word indexes (~0.5 ms at 100k contacts). Words shorter than
    # four letters must be typed right, as on SQLite, where a one-letter change to them is below
    # the closeness it asks of a word.
    #
    # Typo hits all rank in tier 1, people before companies before deals, so each kind is only
    # looked up while the kinds before it found fewer than ``limit``.
    ordered = sorted(kinds, key=_KIND_CODE.__getitem__)
    near = [_near_spellings(t) if len(t) >= 4 else {t} for t in tokens]
    found: dict[tuple[str, int], float] = {}
    if any(len(n) > 1 for n in near) and sum(len(n) for n in near) <= MAX_NEAR_SPELLINGS:
        params: dict[str, object] = {}
        for i, spellings in enumerate(near):
            spelled = sorted(spellings)
            for j in range(0, len(spelled), NEAR_PER_LOOKUP):
                chunk = spelled[j : j + NEAR_PER_LOOKUP]
                params[f"n{i}_{j // NEAR_PER_LOOKUP}"] = " | ".join(map(_lexeme, chunk))
        # Every word typed must be near a word of the name: AND over the words, and for each
        # word an OR over its look-ups.
        groups = [[k for k in params if k.startswith(f"n{i}_")] for i in range(len(near))]
        for kind in ordered:
            statement = _near_names(kind, groups)
            found.update(_closest(session, statement, params, query, kind, limit, 0))
            if len(found) >= limit:
                break
    if not found:
        # Then names sharing enough trigrams with what was typed, from the trigram indexes (a
        # low threshold, so two mistakes in a long word still qualify; it re-checks thousands of
        # names at 100k contacts, 20-50 ms); rapidfuzz ranks the closest. Fetching every name to
        # rank it in Python took 2-3 s at 100k.
        _rows(session, "SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)")
        for kind in ordered:
            table, name = PG_NAMES[kind]
            statement = (
                f"SELECT {_KIND_CODE[kind]}, id, {name} FROM {table} WHERE :q <% {name} "
                f"ORDER BY word_similarity(:q, {name}) DESC LIMIT 500"
            )
            found.update(_closest(session, statement, {"q": query}, query, kind, limit, 80))
            if len(found) >= limit:
                break
    # Ranked as ``_describe`` ranks SQLite's typo hits before the caller re-ranks them: tier 1,
    # people first, then closeness.
    scores = {
        key: (1000.0 + (2 - _KIND_CODE[key[0]]) * 100.0 + closeness, "")
        for key, closeness in found.items()
    }
    return _pg_describe_best(session, scores, len(scores))


# Near spellings of a query's words sent to one search at most (a nine-letter word has ~500),
# and per index look-up: GIN's work for one look-up grows faster than its number of words, so
# ten look-ups of 50 words cost a quarter of one of 500 (3 ms against 14 ms at 100k contacts).
MAX_NEAR_SPELLINGS = 3000
NEAR_PER_LOOKUP = 50


def _near_names(kind: str, groups: list[list[str]]) -> str:
    """(kind code, id, name) of up to CANDIDATES records of ``kind`` whose name has, for every
    group of bind parameters, a word in one of the group's tsqueries."""
    table, name = PG_NAMES[kind]
    words = PG_WORDS[kind][1]
    # Each tsquery comes from a sub-select so the planner, which cannot estimate dozens of
    # alternatives (it guessed 76% of the names for "smtih" and read them all: 1-5 s), uses
    # the index; UNION ALL keeps the look-ups apart (an OR made one slow look-up of them).
    first, *others = groups
    branches = []
    for key in first:
        conditions = [f"{words} @@ (SELECT CAST(:{key} AS tsquery))"]
        conditions += [
            "(" + " OR ".join(f"{words} @@ (SELECT CAST(:{k} AS tsquery))" for k in group) + ")"
            for group in others
        ]
        branches.append(
            f"(SELECT id, {name} AS folded FROM {table} WHERE {' AND '.join(conditions)} "
            f"LIMIT {CANDIDATES})"
        )
    return (
        f"(SELECT {_KIND_CODE[kind]}, id, folded FROM ({' UNION ALL '.join(branches)}) AS near "
        f"LIMIT {CANDIDATES})"
    )


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _near_spellings(word: str) -> set[str]:
    """The word and every spelling one edit away: a letter deleted, inserted, replaced, or
    swapped with the next one."""
    letters = set(_LETTERS) | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    near = {word}
    near.update(a + b[1:] for a, b in splits if b)
    near.update(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1)
    near.update(a + c + b[1:] for a, b in splits if b for c in letters)
    near.update(a + c + b for a, b in splits for c in letters)
    return near


def _closest(
    session: Queryable,
    statement: str,
    params: dict[str, object],
    query: str,
    kind: str,
    limit: int,
    cutoff: int,
) -> dict[tuple[str, int], float]:
    """The ``limit`` names of ``statement``'s (kind code, id, name) rows that rapidfuzz finds
    closest to ``query``, with their closeness (0-1)."""
    from rapidfuzz import fuzz, process

    choices = {
        record_id: fold(label) for _code, record_id, label in _rows(session, statement, params)
    }
    return {
        (kind, record_id): float(score) / 100.0
        for _choice, score, record_id in process.extract(
            query, choices, scorer=fuzz.partial_ratio, score_cutoff=cutoff, limit=limit
        )
    }
