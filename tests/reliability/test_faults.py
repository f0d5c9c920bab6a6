"""Faults injected into the real program: crashes, concurrent writers, backups, foreign files.

Each test runs pycrm in separate processes against a real SQLite file, as a user or a cron job
would, and checks what is stored afterwards.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pycrm.db import open_database

HERE = Path(__file__).parent
WRITER = HERE / "bulk_writer.py"
ROWS = 60_000


def pycrm(db: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pycrm", "--db", str(db), *args],
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def count(db: Path, table: str = "contact") -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def wait_for(predicate: object, timeout: float = 120.0) -> None:
    """Poll a condition (bounded), instead of sleeping a guessed time."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def start_writer(db: Path, ready: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(ROWS), "--ready", str(ready)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 1.5])
def test_sigkill_during_bulk_import_leaves_none_or_all(tmp_path: Path, delay: float) -> None:
    db = tmp_path / "crm.db"
    open_database(str(db)).close()
    ready = tmp_path / "ready"
    writer = start_writer(db, ready)
    wait_for(lambda: ready.exists() or writer.poll() is not None)
    time.sleep(delay)  # the kill moment itself is the variable under test, not a race fix
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=60)
    check = pycrm(db, "db", "check")
    assert check.returncode == 0, check.stderr
    assert count(db) in (0, ROWS)
    assert count(db, "contact_email") == count(db)


@pytest.mark.slow
def test_writers_wait_for_a_long_import_and_all_succeed(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    open_database(str(db)).close()
    seed = pycrm(db, "contact", "add", "Seed Person")
    assert seed.returncode == 0
    fid = pycrm(db, "followup", "add", "1", "call back", "--due", "tomorrow").stdout.strip()
    ready = tmp_path / "ready"
    writer = start_writer(db, ready)
    wait_for(lambda: ready.exists())
    commands = [
        [sys.executable, "-m", "pycrm", "--db", str(db), "contact", "add", f"Concurrent {i}"]
        for i in range(18)
    ]
    commands.append(
        [
            sys.executable,
            "-m",
            "pycrm",
            "--db",
            str(db),
            "log",
            "1",
            "--type",
            "call",
            "during import",
        ]
    )
    commands.append([sys.executable, "-m", "pycrm", "--db", str(db), "followup", "done", fid])
    procs = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    results = [p.communicate(timeout=180) for p in procs]
    assert writer.wait(timeout=180) == 0
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower() or "waiting" in err.lower()
    assert count(db) == ROWS + 19
    assert count(db, "interaction") == 1
    assert any("waiting" in err for _out, err in results)  # at least one had to wait, and said so


def test_backup_while_writing_is_consistent_and_private(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    open_database(str(db)).close()
    ready = tmp_path / "ready"
    writer = start_writer(db, ready)
    wait_for(lambda: ready.exists())
    backup = pycrm(db, "db", "backup", str(tmp_path / "copy.db"))
    writer.wait(timeout=180)
    assert backup.returncode == 0, backup.stderr
    copy = Path(backup.stdout.strip())
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    assert pycrm(copy, "db", "check").returncode == 0
    assert count(copy) in (0, ROWS)


def test_restore_swaps_a_backup_in(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    assert pycrm(db, "contact", "add", "Before Backup").returncode == 0
    backup = Path(pycrm(db, "db", "backup", str(tmp_path / "b.db")).stdout.strip())
    assert pycrm(db, "contact", "add", "After Backup").returncode == 0
    refused = pycrm(db, "db", "restore", str(backup))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert pycrm(db, "db", "restore", str(backup), "--yes").returncode == 0
    names = pycrm(db, "contact", "list").stdout
    assert "Before Backup" in names and "After Backup" not in names
    assert oct(db.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "content", [b"just some text\n" * 50, os.urandom(4096), b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_foreign_file_refused_and_untouched(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "notes.db"
    db.write_bytes(content)
    before = db.read_bytes()
    res = pycrm(db, "contact", "list")
    assert res.returncode == 1
    assert "not a pycrm database" in res.stderr and res.stderr.count("\n") == 1
    assert db.read_bytes() == before


def test_newer_schema_refused_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    assert pycrm(db, "contact", "add", "X").returncode == 0
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = 'ffff'")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    res = pycrm(db, "contact", "list")
    assert res.returncode == 1 and "newer pycrm" in res.stderr and "Traceback" not in res.stderr
    assert db.read_bytes() == before


def test_full_disk_during_import_leaves_database_as_it_was(tmp_path: Path) -> None:
    """SQLITE_FULL mid-transaction (simulated with max_page_count) rolls the whole write back."""
    from pycrm.services import contacts

    db = tmp_path / "crm.db"
    database = open_database(str(db))
    with database.write("one") as session:
        contacts.create_contact(session, "Existing")
    size_pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]
    rows = [contacts.validate_new_contact(f"P {i}", emails=[f"p{i}@x.org"]) for i in range(5000)]
    import sqlalchemy as sa

    with pytest.raises(sa.exc.OperationalError, match="full"), database.write("import") as session:
        session.execute(sa.text(f"PRAGMA max_page_count = {size_pages + 20}"))
        contacts.bulk_create_contacts(session, rows)
    database.close()
    assert count(db) == 1
    assert pycrm(db, "db", "check").returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a command as another user")
def test_read_only_database_reads_and_refuses_writes(tmp_path: Path) -> None:
    folder = Path("/tmp") / f"pycrm-ro-{os.getpid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    db = folder / "crm.db"
    try:
        assert pycrm(db, "contact", "add", "Readable").returncode == 0
        os.chmod(db, 0o644)
        as_nobody = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "pycrm",
            "--db",
            str(db),
        ]
        env = {**os.environ, "HOME": "/tmp"}
        listed = subprocess.run(
            [*as_nobody, "contact", "list"], capture_output=True, text=True, env=env, timeout=60
        )
        assert listed.returncode == 0, listed.stderr
        assert "Readable" in listed.stdout
        write = subprocess.run(
            [*as_nobody, "contact", "add", "Nope"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert write.returncode == 1
        assert "read-only" in write.stderr and "Traceback" not in write.stderr
    finally:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


def _big_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Name,Email,Company\r\n")
        for i in range(rows):
            fh.write(f"Person {i},person{i}@example.org,Company {i % 300}\r\n")
    return path


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _big_csv(tmp_path_factory.mktemp("csv") / "60k.csv", ROWS)


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [1.0, 60.0])
def test_sigkill_during_real_csv_import(tmp_path: Path, big_csv: Path, kill_after: float) -> None:
    """`pycrm import csv` of 60,000 rows killed while parsing or writing: none or all of it."""
    db = tmp_path / "crm.db"
    assert pycrm(db, "contact", "add", "Existing").returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "pycrm", "--db", str(db), "import", "csv", str(big_csv)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        proc.wait(timeout=kill_after)  # finished early: still a valid outcome to check
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert pycrm(db, "db", "check").returncode == 0
    assert count(db) in (1, ROWS + 1)
    assert count(db, "company") in (0, 300)
