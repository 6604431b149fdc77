"""The `servicepulse` command: one entry point, one module per command group, one error exit path."""

from __future__ import annotations

import sys

import typer

from . import admin, broker, controls, dashboards, findings, health, ingest, query, report, rules, run, simulate

__all__ = ["app", "main"]

app = typer.Typer(
    name="servicepulse",
    help="Stream processing for a municipal shared-service administration: SLA windows, 9894, payroll controls.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
run.register(app)
broker.register(app)
simulate.register(app)
ingest.register(app)
query.register(app)
admin.register(app)
controls.register(app)
rules.register(app)
dashboards.register(app)
health.register(app)
report.register(app)
findings.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
