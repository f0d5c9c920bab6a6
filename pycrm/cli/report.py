"""`pycrm report …`: pipeline, forecast, win rate, activity, customers, sources."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from pycrm.cli.common import cycle_collector_paused
from pycrm.cli.context import get_context
from pycrm.cli.output import line, note, table


class _ReportGroup(TyperGroup):
    """An unknown report name is one line on stderr and exit 2, like any other bad argument."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else None
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            from pycrm.services.errors import ValidationError

            known = ", ".join(self.list_commands(ctx))
            raise ValidationError("report", f"no report named {name!r}; one of: {known}")
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_ReportGroup,
    help="Reports: pipeline, forecast, winrate, activity, customers, sources.",
    no_args_is_help=True,
)

FORMATS = ("table", "csv", "json", "md")
TERMINAL_ROWS = 50  # rows of a section drawn on a terminal; the rest is counted
MMAP_BYTES = 1 << 30  # SQLite caps it at its compile-time maximum (2 GB by default)


def _period(ctx: typer.Context, start: str | None, end: str | None) -> Any:
    from datetime import timedelta

    from pycrm.cli.common import when
    from pycrm.reports import Period

    context = get_context(ctx)
    begin = when(context, start, field="from") if start else None
    finish = when(context, end, field="to") if end else None
    if finish is not None and finish.time() == finish.min.time():
        finish += timedelta(days=1)  # --to 2026-11-30 includes that day
    if begin and finish and finish <= begin:
        from pycrm.services.errors import ValidationError

        raise ValidationError("--to", "must be after --from")
    return Period(begin, finish)


def _emit(report: Any, fmt: str, chart: bool) -> None:
    from pycrm.reports.render import to_csv, to_markdown
    from pycrm.services.errors import ValidationError

    if fmt not in FORMATS:
        raise ValidationError("--format", f"{fmt!r} is not one of: {', '.join(FORMATS)}")
    if fmt == "json":
        from pycrm.reports.render import to_json_text

        sys.stdout.write(to_json_text(report) + "\n")  # what print_json writes, ~3× faster
        return
    if fmt == "csv":
        sys.stdout.write(to_csv(report))
        return
    if fmt == "md":
        sys.stdout.write(to_markdown(report) + "\n")
        return
    from pycrm.cli.output import stdout_is_tty
    from pycrm.reports.render import cell

    # On a terminal a long section shows its first rows (Rich measures every cell: the 3,921
    # customers of the 100k demo took ~20 s to draw); piped, the whole table is written as TSV.
    shown = TERMINAL_ROWS if stdout_is_tty() else None
    line(f"{report.name.capitalize()} — {report.period.describe()}")
    if report.is_empty:
        note("nothing to report for this period")
    for section in report.sections:
        if not section.rows:
            continue
        line("")
        rows = section.rows if shown is None else section.rows[:shown]
        table(section.columns, [[cell(v) for v in row] for row in rows], title=section.title)
        if len(rows) < len(section.rows):
            more = len(section.rows) - len(rows)
            hint = "--limit N, " if report.name == "customers" else ""
            line(f"… and {more:,} more rows: use {hint}--format csv|json|md, or pipe the output")
    if chart:
        _charts(report)


def _charts(report: Any) -> None:
    import os

    import plotext as plt

    for section in report.sections:
        if not section.chart or not section.rows:
            continue
        from pycrm.reports.render import chart_series

        bars = chart_series(section)
        if not bars:
            continue
        plt.clear_figure()
        if "NO_COLOR" in os.environ or not sys.stdout.isatty():
            plt.theme("clear")
        width = plt.terminal_width() or 100
        plt.plotsize(min(100, width), max(10, min(30, 2 * len(bars) + 5)))
        orientation = "horizontal" if section.chart == "barh" else "vertical"
        plt.bar([b[0] for b in bars], [b[1] for b in bars], orientation=orientation, width=0.6)
        plt.title(section.title)
        text = plt.build()
        if "NO_COLOR" in os.environ or not sys.stdout.isatty():
            import re

            text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        sys.stdout.write(text + "\n")


def _run(
    ctx: typer.Context,
    name: str,
    start: str | None,
    end: str | None,
    fmt: str,
    chart: bool,
    currency: str | None = None,
    **options: Any,
) -> None:
    with cycle_collector_paused():
        _run_report(ctx, name, start, end, fmt, chart, currency, **options)


def _run_report(
    ctx: typer.Context,
    name: str,
    start: str | None,
    end: str | None,
    fmt: str,
    chart: bool,
    currency: str | None,
    **options: Any,
) -> None:
    from pycrm.money import MoneyError, check_currency
    from pycrm.reports import run_report
    from pycrm.services.errors import ValidationError

    if fmt not in FORMATS:
        raise ValidationError("--format", f"{fmt!r} is not one of: {', '.join(FORMATS)}")
    code = None
    if currency is not None:
        try:
            code = check_currency(currency)
        except MoneyError as exc:
            raise ValidationError("--currency", str(exc)) from exc
    period = _period(ctx, start, end)
    database = get_context(ctx).database()
    with database.connect() as connection:  # Core only: the ORM is never imported
        if connection.dialect.name == "sqlite":
            # Read the file through a memory map rather than one read() per page: a report
            # touches thousands of index pages once (20-35 ms less for activity, customers and
            # sources at 100k). Only this short-lived read connection; writes are unaffected.
            connection.exec_driver_sql(f"PRAGMA mmap_size={MMAP_BYTES}")
        report = run_report(connection, name, period, **options)
    if code is not None:
        report.only_currency(code)
    _emit(report, fmt, chart)


FROM = typer.Option(None, "--from", help="Start of the period (WHEN).")
TO = typer.Option(None, "--to", help="End of the period (WHEN), inclusive for a date.")
FORMAT = typer.Option("table", "--format", "-f", help="table, csv, json or md.")
CHART = typer.Option(False, "--chart", help="Draw a chart in the terminal (with --format table).")
CURRENCY = typer.Option(None, "--currency", help="Only money in this ISO 4217 currency.")


@app.command("pipeline")
def pipeline(
    ctx: typer.Context,
    from_: str = FROM,
    to: str = TO,
    fmt: str = FORMAT,
    chart: bool = CHART,
    currency: str = CURRENCY,
) -> None:
    """Per stage: deals, total and weighted value, days in stage; stale and slipped deals.

    Example: pycrm report pipeline --chart
    """
    _run(ctx, "pipeline", from_, to, fmt, chart, currency)


@app.command("forecast")
def forecast(
    ctx: typer.Context,
    from_: str = FROM,
    to: str = TO,
    fmt: str = FORMAT,
    chart: bool = CHART,
    currency: str = CURRENCY,
    months: int = typer.Option(6, "--months", help="How many months ahead.", min=1, max=36),
) -> None:
    """Weighted value by expected close month, per currency; overdue closes flagged.

    Example: pycrm report forecast --months 3 --format md
    """
    _run(ctx, "forecast", from_, to, fmt, chart, currency, months=months)


@app.command("winrate")
def winrate(
    ctx: typer.Context,
    from_: str = FROM,
    to: str = TO,
    fmt: str = FORMAT,
    chart: bool = CHART,
    currency: str = CURRENCY,
) -> None:
    """Won vs lost, win rate, sales cycle, loss reasons, stage-to-stage conversion.

    Example: pycrm report winrate --from 2026-01-01 --to 2026-06-30
    """
    _run(ctx, "winrate", from_, to, fmt, chart, currency)


@app.command("activity")
def activity(
    ctx: typer.Context,
    from_: str = FROM,
    to: str = TO,
    fmt: str = FORMAT,
    chart: bool = CHART,
    currency: str = CURRENCY,
) -> None:
    """Interactions per week, follow-ups kept, meetings held, who got most and least contact.

    Example: pycrm report activity --from -4w --chart
    """
    _run(ctx, "activity", from_, to, fmt, chart, currency)


@app.command("customers")
def customers(
    ctx: typer.Context,
    from_: str = FROM,
    to: str = TO,
    fmt: str = FORMAT,
    chart: bool = CHART,
    currency: str = CURRENCY,
    by: str = typer.Option("contact", "--by", help="contact or company."),
    segment: str = typer.Option(
        None, "--segment", help="Only this RFM segment (e.g. Champions, 'At risk')."
    ),
    sort: str = typer.Option("value", "--sort", help="value, recency, frequency or name."),
    limit: int = typer.Option(None, "--limit", help="At most N customers.", min=1),
) -> None:
    """Lifetime value, purchases, preferred channel and RFM segment per person or company.

    Example: pycrm report customers --by company --segment "At risk"
    """
    with cycle_collector_paused():
        _customers(ctx, from_, to, fmt, chart, currency, by, segment, sort, limit)


def _customers(
    ctx: typer.Context,
    from_: str | None,
    to: str | None,
    fmt: str,
    chart: bool,
    currency: str | None,
    by: str,
    segment: str | None,
    sort: str,
    limit: int | None,
) -> None:
    from pycrm.reports.customers import SEGMENTS, SORTS
    from pycrm.services.errors import ValidationError

    if by not in ("contact", "company"):
        raise ValidationError("--by", "must be contact or company")
    if sort not in SORTS:
        raise ValidationError("--sort", f"must be one of: {', '.join(SORTS)}")
    if segment and segment.strip().lower() not in {s.lower() for s in SEGMENTS}:
        raise ValidationError("--segment", f"must be one of: {', '.join(SEGMENTS)}")
    _run(
        ctx,
        "customers",
        from_,
        to,
        fmt,
        chart,
        currency,
        by=by,
        segment_filter=segment,
        sort=sort,
        limit=limit,
    )


@app.command("sources")
def sources(
    ctx: typer.Context,
    from_: str = FROM,
    to: str = TO,
    fmt: str = FORMAT,
    chart: bool = CHART,
    currency: str = CURRENCY,
) -> None:
    """Contacts, deals, won value and win rate by source and campaign.

    Example: pycrm report sources --format csv > sources.csv
    """
    _run(ctx, "sources", from_, to, fmt, chart, currency)
