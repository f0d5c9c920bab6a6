"""Reports: pure functions taking a Session or Connection and returning a :class:`Report`.

The work is done in SQL aggregates; front ends render a Report as a table, CSV, JSON, Markdown
or a chart. Money stays exact: amounts are Decimals in major units beside their currency, and
different currencies are never added together.
"""

from pycrm.reports.common import REPORTS, Period, Report, Section, run_report

__all__ = ["REPORTS", "Period", "Report", "Section", "run_report"]
