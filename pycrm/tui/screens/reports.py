"""Reports: pipeline, forecast and activity (plus win rate and customers) with charts and a period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Header, Select, Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from pycrm.tui.screens.base import BaseScreen
from pycrm.tui.widgets.footer import QuietFooter

REPORT_CHOICES = [
    ("Pipeline", "pipeline"),
    ("Forecast", "forecast"),
    ("Activity", "activity"),
    ("Win rate", "winrate"),
    ("Customers", "customers"),
    ("Sources", "sources"),
]
PERIODS = [("Last 30 days", 30), ("Last 90 days", 90), ("Last 12 months", 365), ("All time", 0)]


class ReportsScreen(BaseScreen):
    """One report at a time with its chart; pick the report and the period with the selectors."""

    DEFAULT_CSS = """
    ReportsScreen #reports-bar { height: auto; }
    ReportsScreen #reports-bar Select { width: 1fr; }
    ReportsScreen #reports-chart { height: 16; }
    ReportsScreen #reports-tables { height: auto; }
    """

    BINDINGS = [
        Binding("p", "pick('report')", "Report", id="reports.report", tooltip="Choose the report"),
        Binding("d", "pick('period')", "Period", id="reports.period", tooltip="Choose the period"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report_name = "pipeline"
        self.days = 365

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="reports-bar"):
            yield Select(REPORT_CHOICES, value="pipeline", allow_blank=False, id="report-choice")
            yield Select(PERIODS, value=365, allow_blank=False, id="period-choice")
        with VerticalScroll(id="reports-body"):
            yield Static("", id="reports-status", classes="status")
            yield PlotextPlot(id="reports-chart")
            yield Static("", id="reports-tables")
        yield QuietFooter()

    def action_pick(self, which: str) -> None:
        """Focus a selector and open it."""
        select = self.query_one("#report-choice" if which == "report" else "#period-choice", Select)
        select.focus()
        select.expanded = True

    @on(Select.Changed)
    def changed(self, event: Select.Changed) -> None:
        if event.select.id == "report-choice":
            self.report_name = str(event.value)
        else:
            self.days = int(event.value)  # type: ignore[call-overload]
        self.reload()

    def reload(self) -> None:
        self.query_one("#reports-status", Static).update(Text("loading…"))
        self.load(self.report_name, self.days)

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self, name: str, days: int) -> None:
        """Run the report in a thread (its own session)."""
        from pycrm.reports import Period, run_report

        now = self.crm.now()
        period = (
            Period(now - timedelta(days=days), None)
            if days and name not in ("pipeline", "forecast")
            else Period()
        )
        with self.crm.database.read() as session:
            result = run_report(session, name, period)
        if get_current_worker().is_cancelled:
            return
        self.app.call_from_thread(self.show, result)

    def show(self, result: Any) -> None:
        """Draw the chart of the report's first chartable section and every table."""
        from pycrm.reports.render import cell

        status = Text(f"{result.name.capitalize()} — {result.period.describe()}", style="bold")
        if result.is_empty:
            status.append("   nothing to report for this period", style="italic")
        self.query_one("#reports-status", Static).update(status)
        plot = self.query_one("#reports-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        chart = next((s for s in result.sections if s.chart and s.rows), None)
        plot.display = chart is not None
        if chart is not None:
            from pycrm.reports.render import chart_series

            bars = chart_series(chart)
            plt.bar(
                [b[0] for b in bars],
                [b[1] for b in bars],
                orientation="horizontal" if chart.chart == "barh" else "vertical",
                width=0.6,
            )
            plt.title(chart.title)
        plot.refresh()
        tables = []
        for section in result.sections:
            table = Table(title=Text(section.title), expand=False, header_style="bold")
            for column in section.columns:
                table.add_column(Text(column))
            for row in section.rows[:200]:
                table.add_row(*(Text(cell(v)) for v in row))
            if not section.rows:
                table.add_row(*(Text("—") for _ in section.columns))
            tables.append(table)
        from rich.console import Group

        self.query_one("#reports-tables", Static).update(Group(*tables))
