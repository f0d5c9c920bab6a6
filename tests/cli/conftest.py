"""Running the real CLI: through Typer's CliRunner (in-process) and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pycrm.cli.app import app


class Result:
    """What a command run gave: exit code, stdout, stderr."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(db_path: Path) -> Callable[..., Result]:
    """Run `pycrm --db <test file> ARGS…` in-process."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        res = runner.invoke(app, ["--db", str(db_path), *args], input=input, catch_exceptions=False)
        return Result(res.exit_code, res.stdout, res.stderr)

    return run


@pytest.fixture
def sh(db_path: Path) -> Callable[..., Result]:
    """Run `python -m pycrm --db <test file> ARGS…` as a real subprocess."""

    def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "pycrm", "--db", str(db_path), *args],
            capture_output=True, text=True, input=input, env={**os.environ, **(env or {})}, timeout=120,
        )  # fmt: skip
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


def seed_two_people_and_acme(cli: Callable[..., Result]) -> None:
    """Acme, Inc. with Ana Souza at it, and Bruno Lima: the export tests' small address book."""
    assert cli("company", "add", "Acme, Inc.").code == 0
    assert (
        cli(
            "contact", "add", "Ana Souza", "--email", "ana@example.com", "--company", "Acme, Inc."
        ).code
        == 0
    )
    assert cli("contact", "add", "Bruno Lima", "--email", "bruno@example.com").code == 0
