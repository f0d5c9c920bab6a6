"""Fixtures for the app's tests: a demo database seeded once, copied per test, at a fixed date."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

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
    seed_demo(database, contacts=60, seed=7, now=FIXED_NOW)
    database.close()
    return path


@pytest.fixture
def demo_db(demo_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the demo database for one test."""
    target = tmp_path / "crm.db"
    shutil.copy(demo_template, target)
    database = open_database(str(target))
    yield database
    database.close()
