"""An import's new contacts written while the rest of its file is still being validated (SQLite).

``plan_import(..., write_ahead=True)`` hands each chunk of new contacts, as it spools them, to a
writing process (``python -m pycrm.io.csv_write_ahead``): it takes the write lock and writes them
(companies, contacts, search documents, ChangeLog) in one open transaction, on its own core, while
the planner validates and matches the next chunks. ``apply_import`` then sends it the updates and
asks it to commit: the import is still one transaction, written only when the whole file is valid.
A rejected row, an error or a plan that is never applied cancels the transaction (the process
rolls back when its input ends) and ``apply_import`` writes from the spool as before.

The pages are written once: the planner lets go of the file before the writer starts, and a
writer with the file to itself switches it to the rollback journal for the import (``_journal``).

Why a process and not a thread: SQLite releases the interpreter lock around each row it inserts,
and a thread busy matching in Python makes each of those rows wait for it back (100k search
documents: 3.6 s alone, 8-23 s beside a busy thread, measured). Why spawned and not forked: an
SQLite connection or lock must never cross a ``fork`` (the parent has the database open).
"""

from __future__ import annotations

import gc
import json
import marshal
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import traceback
import uuid
import weakref
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pycrm.dbfile import BUSY_TIMEOUT_MS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from pycrm.db import Database
    from pycrm.io.csv_import import Plan

# Frames, parent → writer: b"G" go (JSON: the database's path, the batch id and label; the
# process may start before the planner knows them, see ``prestart``), b"N" the companies to
# create before the next chunk (marshal: list of (folded key, name), first id, the share of the
# file read so far), b"M"/b"P" a chunk of new contacts' records (``_Spool.dumps``: marshal /
# pickle), b"F" no more new contacts, b"A" apply (JSON: batch label and source, region, every new
# company's name), b"u"/b"v" a chunk of updates (marshal / pickle), b"E" commit. Writer →
# parent: b"K" the new contacts are written, b"D" committed (JSON: batch id), b"X" failed (its
# traceback). The end of the input cancels.


# Below ~2,500 rows the writing process costs more than writing beside the validation saves. It
# starts while the CLI starts (``prestart``), on the other core; when it started only once
# planning began (~0.5-0.9 s of loading Python, SQLAlchemy and the models after the planner's
# own) the bar was ~25k rows. Measured, interleaved against sqlite-utils: 1k rows 2.72 -> 2.87x,
# 3k rows 2.52 -> 2.41x, 10k rows 2.01 -> 1.47x.
WRITE_AHEAD_MIN_BYTES = 200_000
# Above ~300k rows the two processes' caches (folded names, phone and e-mail checks: bounded, but
# full only after a few hundred thousand rows) would take their summed peak past 200 MB (100k
# rows: 189 MB, 1M: 229 MB measured); such files take the one-writer path, flat at ~140 MB.
WRITE_AHEAD_MAX_BYTES = 25_000_000
WRITER_CACHE_KIB = 8_192
# Once this share of the file is read, the writer builds the indexes it dropped whenever it would
# otherwise wait for the next chunk, one at a time, instead of all after the last chunk while
# the planner waits (100k rows: ~1.3 s). The rows that follow keep them current, which costs
# more per row the earlier they are built: a writer that never waits builds them at the end.
INDEXES_FROM = 0.5


def _write_frame(out: IO[bytes], kind: bytes, data: bytes = b"") -> None:
    out.write(kind + len(data).to_bytes(8, "little"))
    out.write(data)


def _read_frame(source: IO[bytes]) -> tuple[bytes, bytes]:
    """The next frame; ``(b"", b"")`` when the input ended (or was cut short)."""
    header = source.read(9)
    if len(header) < 9:
        return b"", b""
    size = int.from_bytes(header[1:], "little")
    data = source.read(size)
    if len(data) < size:
        return b"", b""
    return header[:1], data


# --- the planning process's side ----------------------------------------------------------------


def _lock_free(path: str) -> bool:
    """Whether nobody holds the database's write lock now (asked without waiting)."""
    if not Path(path).is_file():
        return False
    try:
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    except sqlite3.Error:
        return False
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.Error:  # locked, or a read-only file
        return False
    finally:
        probe.close()


def _spawn() -> subprocess.Popen[bytes] | None:
    """A writing process, waiting for its b"G" frame (which database, batch and label)."""
    import pycrm

    env = dict(os.environ)
    # The writer runs this very copy of pycrm, wherever it was imported from.
    root = str(Path(pycrm.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pycrm.io.csv_write_ahead"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError:
        return None


_early: subprocess.Popen[bytes] | None = None


def prestart(db: str, csv_file: Path) -> None:
    """Start the writing process now if this import will likely want one (a SQLite file with no
    contacts yet, a file of ``WRITE_AHEAD_MIN_BYTES``–``WRITE_AHEAD_MAX_BYTES``), so that it
    imports what writing needs (~0.5 s of Python, SQLAlchemy and the models) on the other core
    while this process imports what planning needs, instead of after. ``WriteAhead.start``
    takes it; one never taken ends with this process (its input closes) or ``discard_early``."""
    global _early
    from pycrm.dbfile import resolve_url

    if _early is not None:
        return
    url = resolve_url(db)
    if not url.startswith("sqlite:///"):
        return
    path = Path(url.removeprefix("sqlite:///"))
    try:
        if not WRITE_AHEAD_MIN_BYTES <= csv_file.stat().st_size <= WRITE_AHEAD_MAX_BYTES:
            return
        if path.is_file() and path.stat().st_size > 0 and not _no_contacts(path):
            return
    except OSError:
        return
    _early = _spawn()


def prestarted() -> bool:
    """Whether ``prestart`` started a writing process that no import has taken yet."""
    return _early is not None and _early.poll() is None


@dataclass
class FirstImport:
    """What the plan of an import into an empty contact book reads from the database, read
    beforehand with plain ``sqlite3``: the companies (folded name, id) and the next company id.

    With it, the planning process never loads SQLAlchemy or the models (~0.4 s of a quiet
    machine's CPU, 1 s on a busy one, before the first row): the writing process, started by
    ``prestart``, loads them on the other core, and creates the schema of a new file.
    """

    path: str
    companies: list[tuple[str, int]]
    next_company: int

    @classmethod
    def read(cls, db: str) -> FirstImport | None:
        """The snapshot for database ``db``, or None when it is not a SQLite file with no
        contacts at the current schema (the import then takes the usual path, which creates,
        upgrades or refuses it). A missing file is created here, empty and private, as the
        usual path would create it: the writing process gives it its schema."""
        from pycrm.dbfile import _create_private_file, open_sqlite_reader, resolve_url

        url = resolve_url(db)
        if not url.startswith("sqlite:///"):
            return None
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            try:
                _create_private_file(path)
            except OSError:  # the usual path says why
                return None
            return cls(str(path), [], 1)
        if path.is_file() and path.stat().st_size == 0:
            return cls(str(path), [], 1)
        reader = open_sqlite_reader(db)
        if reader is None:
            return None
        try:
            if reader.execute("SELECT 1 FROM contact LIMIT 1").fetchone() is not None:
                return None
            companies = [
                (str(key), int(cid))
                for key, cid in reader.execute("SELECT name_key, id FROM company ORDER BY id")
            ]
            last = reader.execute("SELECT coalesce(max(id), 0) FROM company").fetchone()[0]
        finally:
            reader.close()
        return cls(str(path), companies, int(last) + 1)


def _no_contacts(path: Path) -> bool:
    """Whether the pycrm file at ``path`` holds no contact (False when that cannot be told)."""
    try:
        probe = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0)
    except sqlite3.Error:
        return False
    try:
        return probe.execute("SELECT 1 FROM contact LIMIT 1").fetchone() is None
    except sqlite3.Error:
        return False
    finally:
        probe.close()


def _take_early() -> subprocess.Popen[bytes] | None:
    global _early
    process, _early = _early, None
    if process is not None and process.poll() is not None:
        return None
    return process


def discard_early() -> None:
    """End a writing process ``prestart`` started that no import took."""
    process = _take_early()
    if process is not None:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the writer: its input closed, it rolls back whatever it has not committed."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with suppress(OSError):  # a broken pipe while flushing: it is gone already
                stream.close()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover - a writer stuck in SQLite
        process.kill()
        process.wait()


class WriteAhead:
    """The planner's handle on a writing process (see the module's docstring)."""

    def __init__(self, process: subprocess.Popen[bytes], batch_id: str) -> None:
        self._process = process
        self.batch_id = batch_id
        # A plan dropped without apply_import or close() still ends its writer (rolled back).
        self._finalizer = weakref.finalize(self, _stop, process)

    @staticmethod
    def file_of(session: Session) -> str | None:
        """The session's SQLite file, or None (another database, in memory, a URI)."""
        bind = session.get_bind()
        path = bind.url.database if bind.dialect.name == "sqlite" else None
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return str(path)

    @classmethod
    def start(cls, session: Session, source: str) -> WriteAhead | None:
        """A writer for the session's SQLite file, or None when it cannot have one now (another
        program holds the write lock, a read-only or in-memory database). It is the process
        ``prestart`` started, when there is one."""
        path = cls.file_of(session)
        return None if path is None else cls.start_file(path, source)

    @classmethod
    def start_file(cls, path: str, source: str) -> WriteAhead | None:
        """A writer for the SQLite file at ``path`` (see ``start``); an empty file gets the
        schema first."""
        if not _lock_free(path):
            return None
        process = _take_early() or _spawn()
        if process is None:
            return None
        batch_id = str(uuid.uuid4())
        label = f"import csv {Path(source).name}"
        ahead = cls(process, batch_id)
        try:
            ahead._send(b"G", json.dumps([path, batch_id, label]).encode("utf-8"), flush=True)
        except OSError:
            ahead.close()
            return None
        return ahead

    def _send(self, kind: bytes, data: bytes = b"", *, flush: bool = False) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        _write_frame(stdin, kind, data)
        if flush:
            stdin.flush()

    def _reply(self) -> tuple[bytes, bytes]:
        assert self._process.stdout is not None
        return _read_frame(self._process.stdout)

    def send(
        self, companies: list[tuple[str, str]], first_id: int, kind: bytes, data: bytes,
        done: float,
    ) -> bool:  # fmt: skip
        """Hand over one chunk of new contacts (their records, dumped by ``_Spool.dumps`` as
        ``kind`` and ``data``; a company still to create is named by ``_company_key``) with the
        companies to create first, numbered from ``first_id``, and the share ``done`` of the
        file read so far; False when the writer is gone."""
        try:
            self._send(b"N", marshal.dumps((companies, first_id, done)))
            self._send(kind, data, flush=True)
        except OSError:  # BrokenPipeError: it failed (its reason comes with finish)
            return False
        return True

    def finish(self) -> bool:
        """No more new contacts: wait until they are all written; False when that failed."""
        try:
            self._send(b"F", flush=True)
        except OSError:
            return False
        kind, _ = self._reply()
        return kind == b"K"

    def apply(self, session: Session, plan: Plan, region: str) -> dict[str, int]:
        """Send the updates, commit, and give ``session`` the import's batch id."""
        counts, batch_id = self.commit(
            plan, region, session.info.get("batch_label"), session.info.get("batch_source")
        )
        session.info["batch_id"] = batch_id
        return counts

    def commit(
        self, plan: Plan, region: str, label: str | None, source: str | None
    ) -> tuple[dict[str, int], str]:
        """Send the updates and commit, the batch labelled ``label`` (None: as it started);
        the counts and the batch id."""
        from pycrm.dbfile import DatabaseError

        header = {"label": label, "source": source, "region": region,
                  "companies": plan.new_companies}  # fmt: skip
        try:
            self._send(b"A", json.dumps(header).encode("utf-8"))
            for kind, data in plan._updates.frames():
                self._send(b"u" if kind == b"M" else b"v", data)
            self._send(b"E", flush=True)
        except OSError:
            pass  # its reason comes as its reply
        kind, data = self._reply()
        self.close()
        if kind != b"D":
            reason = data.decode("utf-8", "replace").strip().splitlines()[-1:] or ["it stopped"]
            raise DatabaseError(
                f"the import could not be written; nothing was changed ({reason[0]})"
            )
        counts = {
            "created": len(plan.create),
            "updated": len(plan.update),
            "skipped": len(plan.skipped),
            "rejected": len(plan.rejected),
        }
        return counts, str(json.loads(data)["batch"])

    def close(self) -> None:
        """Stop the writer; what it has not committed is rolled back."""
        self._finalizer()


# --- the writing process ------------------------------------------------------------------------


class _Cancelled(Exception):
    """The planner went away or cancelled: roll back."""


class _Frames:
    """Frames read from stdin by a thread, so the pipe keeps draining while SQLite writes (a
    planner never waits for a chunk to be written before it can hand over the next)."""

    def __init__(self, source: IO[bytes]) -> None:
        self._queue: queue.Queue[tuple[bytes, bytes]] = queue.Queue(maxsize=2)  # memory: flat
        self._source = source
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            frame = _read_frame(self._source)
            self._queue.put(frame)
            if not frame[0]:
                return

    def next(self) -> tuple[bytes, bytes]:
        return self._queue.get()

    def waiting(self) -> bool:
        """Whether no frame has arrived yet (``next`` would wait)."""
        return self._queue.empty()

    def expect(self, *kinds: bytes) -> tuple[bytes, bytes]:
        kind, data = self.next()
        if kind not in kinds:
            raise _Cancelled
        return kind, data

    def drain(self) -> None:
        while self.next()[0]:
            pass


class _SyncAhead:
    """Flushes the database file's new pages to disk in a background thread, every few chunks,
    so that the commit's ``fsync`` finds little left to write (100k rows: ~120 MB; the commit
    took 0.46-0.50 s, 0.16-0.26 s with this). Only where the pages go straight to the file (the
    rollback journal, ``_journal``). Syncing early is always safe: it only writes sooner what
    SQLite has already written to the file, and a rollback (hot journal) undoes it the same."""

    EVERY_CHUNKS = 4

    def __init__(self, path: str | None) -> None:
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._chunks = 0
        if path is not None:
            with suppress(OSError):
                self._fd = os.open(path, os.O_RDONLY)

    @staticmethod
    def _sync(fd: int) -> None:
        with suppress(OSError):
            os.fdatasync(fd)

    def chunk_written(self) -> None:
        """Start a flush every ``EVERY_CHUNKS`` chunks, unless one is still running."""
        self._chunks += 1
        if self._fd is None or self._chunks % self.EVERY_CHUNKS:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._sync, args=(self._fd,), daemon=True)
            self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _serve(session: Session, frames: _Frames, out: IO[bytes], sync: _SyncAhead) -> None:
    """Write what the planner sends, in the session's transaction, until it says commit."""
    from pycrm.io import csv_apply as ca
    from pycrm.io import csv_import as ci
    from pycrm.services import fts
    from pycrm.services.changelog import _bulk_insert

    company_ids: dict[str, int] = {}
    # Half the in-process import's cache: this process's peak adds to the planner's.
    with ca._import_page_cache(session, WRITER_CACHE_KIB):
        with ca._import_writer(session) as writer:
            assert isinstance(writer, ca._ImportWriter)
            # The write lock is held now. Every row was planned as new against an empty
            # contact table: if another program added contacts since, the plan is stale.
            if session.connection().exec_driver_sql("SELECT 1 FROM contact LIMIT 1").first():
                raise RuntimeError("contacts were added since the import was planned")
            while True:
                kind, data = frames.expect(b"N", b"F")
                if kind == b"F":
                    break
                new, first_id, done = marshal.loads(data)
                kind, data = frames.expect(b"M", b"P")
                records = ci._Spool.loads(kind, data)
                if new:
                    rows = [{"name": name, "name_key": key} for key, name in new]
                    ids = _bulk_insert(session, "company", rows, None, compact=True)
                    if ids != list(range(first_id, first_id + len(new))):
                        raise RuntimeError(f"company ids moved: {first_id} planned, {ids[0]} given")
                    company_ids.update(zip([key for key, _ in new], ids, strict=True))
                for record in records:  # a company to create, named by its folded name
                    key = record[ci.FIELDS].pop("_company_key", None)
                    if key is not None:
                        record[ci.COMPANY_ID] = company_ids[key]
                writer.write_prepared(writer._prepare(records, writer._next_id()))
                sync.chunk_written()
                indexes = writer.dropped_indexes
                # Idle time (the next chunk is not here yet) spent on the dropped indexes.
                while done >= INDEXES_FROM and frames.waiting() and indexes is not None:
                    if not indexes.build_one():
                        break
        # Their search documents, as bulk_insert builds them, now that the triggers are back.
        fts.refresh(session, "company", list(company_ids.values()))
        _write_frame(out, b"K")
        out.flush()
        _, data = frames.expect(b"A")
        header = json.loads(data)
        label, source = header["label"], header["source"]
        if label is not None and (label, source) != (
            session.info["batch_label"],
            session.info["batch_source"],
        ):
            import sqlalchemy as sa

            session.info["batch_label"], session.info["batch_source"] = label, source
            session.execute(
                sa.text("UPDATE change_batch SET label = :label, source = :source WHERE id = :id"),
                {"label": label[:500], "source": source, "id": session.info["batch_id"]},
            )
        named = [n for n in header["companies"] if ci.fold(n) not in company_ids]
        company_ids.update(ca.create_companies(session, named))
        while True:
            kind, data = frames.expect(b"u", b"v", b"E")
            if kind == b"E":
                return
            updates = ci._Spool.loads(b"M" if kind == b"u" else b"P", data)
            ca.apply_updates(session, updates, company_ids, header["region"])


def _journal(database: Database, mode: str) -> bool:
    """Switch the file's journal (``delete`` or ``wal``); False when it could not be now.

    Into an empty contact book, with no other connection to the file (the planner closed its
    own), the import writes with the rollback journal: each new page is written once, where
    the WAL would write it twice (the log, then the checkpoint at the commit; 100k rows:
    ~120 MB, ~1 s of a 6 s import). Meanwhile other programs wait for the import to end
    instead of reading the state before it (``db._use_wal``). Leaving WAL needs the file to
    itself, so any connection open elsewhere keeps the import in WAL, as before.
    """
    raw = database.engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.execute("PRAGMA busy_timeout=0")
        try:
            return bool(driver.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode)
        except sqlite3.OperationalError:  # another connection has the file open
            return False
        finally:
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        raw.close()


def _failure() -> bytes:
    """The current exception's traceback, short enough never to fill the pipe."""
    return traceback.format_exc()[-4000:].encode("utf-8", "replace")


def main() -> int:
    """The writing process (``python -m pycrm.io.csv_write_ahead``): it imports what it needs,
    then waits for its b"G" frame (JSON: the database's path, the batch id and label)."""
    # The replies get their own copy of stdout; anything else printed goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    gc.disable()  # many small objects, no cycles (as in apply_import)
    # Imported while the planner is still starting (``prestart``).
    from pycrm.db import open_database
    from pycrm.io import csv_apply  # noqa: F401
    from pycrm.services import changelog, fts  # noqa: F401

    kind, data = _read_frame(sys.stdin.buffer)
    if kind != b"G":  # not needed after all: the planner closed the pipe
        return 0
    path, batch_id, label = json.loads(data)
    frames = _Frames(sys.stdin.buffer)

    try:
        # An empty file (a new contact book, ``FirstImport``) gets its schema here.
        database = open_database(path, create=False, upgrade=False)
    except Exception:
        _write_frame(out, b"X", _failure())
        out.flush()
        frames.drain()
        return 1
    once = _journal(database, "delete")
    sync = _SyncAhead(path if once else None)
    try:
        with database.write(label, source="import", batch_id=batch_id) as session:
            _serve(session, frames, out, sync)
    except _Cancelled:
        return 0
    except Exception:
        _write_frame(out, b"X", _failure())
        out.flush()
        frames.drain()
        return 1
    finally:
        sync.close()
        if once:
            _journal(database, "wal")
        database.close()
    _write_frame(out, b"D", json.dumps({"batch": batch_id}).encode("utf-8"))
    out.flush()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is committed or rolled back and closed: skip tearing down the interpreter's
    # objects (~0.3 s after a 100k-row import, which the planner would wait for).
    sys.stderr.flush()
    os._exit(code)
