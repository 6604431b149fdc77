"""`report`: the tertial (or monthly) service-agreement report as one self-contained HTML page, JSON, or PDF."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from .common import console, fail, settings_and_logging

__all__ = ["register", "report"]


class ReportFormat(StrEnum):
    html = "html"
    json = "json"


class Language(StrEnum):
    sv = "sv"
    en = "en"


def register(app: typer.Typer) -> None:
    app.command(help="The service-agreement report of a tertial or month: targets, traffic lights, trends.")(report)


def report(
    tertial: str | None = typer.Option(None, help="Tertial, e.g. 2026-T1 (T1 Jan-Apr, T2 May-Aug, T3 Sep-Dec)"),
    month: str | None = typer.Option(None, help="One month instead, e.g. 2026-03"),
    customer: str | None = typer.Option(None, help="Only this customer (complaints, cases, 9894, findings)"),
    lang: Language = typer.Option(Language.sv, "--lang", help="sv (default) or en"),
    fmt: ReportFormat = typer.Option(ReportFormat.html, "--format", "-f", help="html or json"),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write here (default: standard output)"),
    pdf: Path | None = typer.Option(None, "--pdf", help="Also print the HTML to this PDF with headless Chromium"),
) -> None:
    from servicepulse.connectors.clickhouse import connect
    from servicepulse.report.figures import Margins, build_report
    from servicepulse.report.period import Period
    from servicepulse.report.queries import run_queries, today_in_stockholm
    from servicepulse.report.render import render_html, report_json

    if (tertial is None) == (month is None):
        fail("give exactly one of --tertial (e.g. 2026-T1) or --month (e.g. 2026-03)")
    try:
        period = Period.tertial(tertial) if tertial is not None else Period.month(month or "")
    except ValueError as exc:
        fail(str(exc))
    settings = settings_and_logging()
    parameters = settings.parameters()
    margins = Margins(settings.report.ratio_margin, settings.report.per_fte_margin, settings.report.change_margin)
    try:
        rows = run_queries(connect(settings.clickhouse), period, parameters, customer)
    except Exception as exc:  # one exit path with a clear message, whatever the client raised
        fail(f"could not read ClickHouse ({settings.clickhouse.url or 'embedded store'}): {exc}")
    result = build_report(rows, period, margins, today_in_stockholm(), customer)
    html = render_html(result, lang.value, parameters, margins)
    text = report_json(result) if fmt is ReportFormat.json else html
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"report {period.label} written to {out}")
    if pdf is not None:
        from servicepulse.report.pdf import PdfError, print_pdf

        html_file = out if out is not None and fmt is ReportFormat.html else pdf.with_suffix(".html")
        if html_file != out:
            html_file.write_text(html, encoding="utf-8")
        try:
            print_pdf(html_file, pdf, settings.report.chromium)
        except PdfError as exc:
            fail(str(exc))
        console.print(f"PDF written to {pdf}")
