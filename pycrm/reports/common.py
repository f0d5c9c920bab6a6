"""What every report shares: the period, the result shape, dialect-aware date SQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from pycrm import tables as t
from pycrm.money import to_decimal

if TYPE_CHECKING:
    from typing import TypeAlias

    from sqlalchemy.orm import Session

    # What a report reads through: an ORM session (the app) or a plain Core connection (the
    # CLI, which then never imports the ORM).
    Reader: TypeAlias = Session | sa.Connection


@dataclass(frozen=True)
class Period:
    """A half-open time range; either end may be open."""

    start: datetime | None = None
    end: datetime | None = None

    def clause(self, column: Any) -> Any:
        """SQL condition: column within the period."""
        parts = []
        if self.start is not None:
            parts.append(column >= self.start)
        if self.end is not None:
            parts.append(column < self.end)
        return sa.and_(sa.true(), *parts)

    def describe(self) -> str:
        if self.start is None and self.end is None:
            return "all time"
        start = self.start.astimezone().date().isoformat() if self.start else "…"
        end = self.end.astimezone().date().isoformat() if self.end else "now"
        return f"{start} → {end}"


@dataclass
class Section:
    """One table of a report: a title, column names and rows of plain values.

    Money cells are Decimals in major units; the row carries its currency in a column.
    """

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    chart: str | None = None  # "bar" / "barh": how --chart draws it (label column, value column)
    chart_columns: tuple[int, int] = (0, 1)
    chart_skip: tuple[str, ...] = ()  # labels left out of the chart (e.g. Lost in the funnel)


@dataclass
class Report:
    """A whole report: name, period, sections, and headline figures."""

    name: str
    period: Period
    sections: list[Section] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def only_currency(self, currency: str) -> Report:
        """Keep only money rows in ``currency`` (rows without a currency column stay as they are)."""
        for section in self.sections:
            if "currency" in section.columns:
                i = section.columns.index("currency")
                section.rows = [r for r in section.rows if r[i] in (currency, None)]
        for key, value in list(self.summary.items()):
            if isinstance(value, dict) and all(len(str(k)) == 3 for k in value):
                self.summary[key] = {k: v for k, v in value.items() if k == currency}
        self.summary["currency"] = currency
        return self

    @property
    def is_empty(self) -> bool:
        return all(not s.rows for s in self.sections)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: decimals as exact strings, datetimes and dates as ISO text."""
        return {
            "report": self.name,
            "period": {
                "from": self.period.start.isoformat() if self.period.start else None,
                "to": self.period.end.isoformat() if self.period.end else None,
            },
            "summary": jsonable(self.summary),
            "sections": [
                {
                    "title": s.title,
                    "rows": [
                        dict(zip(s.columns, (jsonable(v) for v in row), strict=True))
                        for row in s.rows
                    ],
                }
                for s in self.sections
            ],
        }


def jsonable(value: Any) -> Any:
    """Exact JSON values: Decimal → string, dates → ISO, containers recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def money(minor: int | None, currency: str) -> Decimal:
    """Minor units → exact Decimal in major units."""
    return to_decimal(int(minor or 0), currency)


def weighted_minor(amount_times_probability: int | float | Decimal | None) -> int:
    """Σ amount × probability (percent) → minor units, rounded half up."""
    value = int(amount_times_probability or 0)
    return (value + 50) // 100


def scanned(session: Reader, column: Any) -> Any:
    """``column`` for a range filter that should scan the table rather than walk its index.

    On SQLite a wide date range over a big table is much faster as one sequential scan than as
    an index walk with a table lookup per row; ``+column`` tells SQLite not to use the index.
    """
    if is_sqlite(session):
        return sa.literal_column(f"+{column.table.name}.{column.name}", type_=column.type)
    return column


def is_sqlite(session: Reader) -> bool:
    bind = session.get_bind() if hasattr(session, "get_bind") else session
    return bind.dialect.name == "sqlite"


def days_between(session: Reader, later: Any, earlier: Any) -> Any:
    """SQL expression: days (fractional) from ``earlier`` to ``later``."""
    if is_sqlite(session):
        return sa.func.julianday(later) - sa.func.julianday(earlier)
    return sa.func.extract("epoch", later - earlier) / 86400.0


def now_param(session: Reader, now: datetime) -> Any:
    """``now`` as a bound value comparable with stored datetimes on this dialect."""
    if is_sqlite(session):
        return sa.literal(now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
    return sa.literal(now, sa.DateTime(timezone=True))


def month_of(session: Reader, column: Any) -> Any:
    """SQL expression: 'YYYY-MM' of a date or datetime column (UTC)."""
    if is_sqlite(session):
        return sa.func.substr(column, 1, 7)
    # Literal (not bound) format so GROUP BY and SELECT are the same expression for PostgreSQL.
    return sa.func.to_char(column, sa.literal_column("'YYYY-MM'"))


def week_of(session: Reader, column: Any) -> Any:
    """SQL expression: the Monday (YYYY-MM-DD) starting the week of a datetime column (UTC)."""
    if is_sqlite(session):
        return sa.func.date(
            column, sa.literal_column("'weekday 0'"), sa.literal_column("'-6 days'")
        )
    return sa.func.to_char(
        sa.func.date_trunc(sa.literal_column("'week'"), column), sa.literal_column("'YYYY-MM-DD'")
    )


def monday(moment: datetime) -> str:
    """The Monday (YYYY-MM-DD) starting the UTC week of ``moment``, as :func:`week_of` gives it."""
    day = moment.astimezone(UTC).date()
    return date.fromordinal(day.toordinal() - day.weekday()).isoformat()


def stage_rows(session: Reader) -> list[Any]:
    """Every stage (id, name, position, probability, kind, idle_days) by position: a few rows.

    Reports look stages up in Python and filter deals by ``deal.stage_id IN (…)`` rather than
    joining the stage table: SQLite then reads the deals through ``ix_deal_stage_id`` (or scans
    them) instead of walking another index and looking up the stage of every deal.
    """
    stage = t.stage
    return list(
        session.execute(
            sa.select(stage.c.id, stage.c.name, stage.c.position, stage.c.probability,
                      stage.c.kind, stage.c.idle_days)
            .order_by(stage.c.position, stage.c.id)
        ).all()
    )  # fmt: skip


def stage_ids(session: Reader, kind: str) -> list[int]:
    """The ids of the stages of one kind (open, won or lost); see :func:`stage_rows`."""
    return [row.id for row in stage_rows(session) if row.kind == kind]


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole as a percentage with one decimal, or None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


ReportFunction = Callable[..., Report]
REPORTS: dict[str, ReportFunction] = {}


def report(name: str) -> Callable[[ReportFunction], ReportFunction]:
    """Register a report function under its CLI name."""

    def register(fn: ReportFunction) -> ReportFunction:
        REPORTS[name] = fn
        return fn

    return register


NAMES = ("pipeline", "forecast", "winrate", "activity", "customers", "sources")


def run_report(session: Reader, name: str, period: Period | None = None, **options: Any) -> Report:
    """Run a report by name (raises KeyError for an unknown one).

    Only that report's module is imported: a command pays for the one report it runs.
    """
    import importlib

    if name not in NAMES:
        raise KeyError(name)
    importlib.import_module(f"pycrm.reports.{name}")
    return REPORTS[name](session, period=period or Period(), **options)
