"""Fixtures for the app's tests: a demo database seeded once, copied per test, at a fixed date."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tui_helpers import FIXED_NOW

from pycrm.db import Database, open_database

# Times on screen are local: pin the zone so snapshots match on every machine.
os.environ["TZ"] = "America/Sao_Paulo"
time.tzset()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database (60 people, seed 7, fixed date) built once per test session."""
    from pycrm.demo import seed_demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    database = open_database(str(path))
    with _faker_today(SNAPSHOT_DAY):
        seed_demo(database, contacts=60, seed=7, now=FIXED_NOW)
    database.close()
    return path


# Faker's date_of_birth counts back from the real clock, not from seed_demo's ``now``: birthdays
# (and so Today's "Birthdays" section and the dossier) moved with the calendar day the tests ran.
# The snapshots were recorded on this day; the demo is seeded as if it were still that day.
SNAPSHOT_DAY = datetime(2026, 11, 22, 12, 0)


@contextmanager
def _faker_today(day: datetime) -> Iterator[None]:
    from faker.providers import date_time

    real = date_time.datetime

    class _Frozen(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return day.replace(tzinfo=tz) if tz is not None else day

    date_time.datetime = _Frozen  # type: ignore[misc]
    try:
        yield
    finally:
        date_time.datetime = real  # type: ignore[misc]


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the demo database for one test."""
    target = tmp_path / "crm.db"
    shutil.copy(demo_template, target)
    database = open_database(str(target))
    yield database
    database.close()
