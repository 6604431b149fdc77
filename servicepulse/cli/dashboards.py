"""`dashboards sync`: the dashboards' colour thresholds written from the parameters file."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console, fail, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Grafana dashboards", no_args_is_help=True)
    group.command(help="Write the panels' colour thresholds from the parameters file (and override file).")(sync)
    app.add_typer(group, name="dashboards")


def sync(
    folder: Path = typer.Option(Path("dashboards"), help="Folder of the dashboard JSON files"),
    check: bool = typer.Option(False, "--check", help="Only report differences; exit 1 when there are any"),
) -> None:
    from servicepulse.dashboard_thresholds import sync_dashboards

    settings = settings_and_logging()
    if not folder.is_dir():
        fail(f"no dashboard folder at {folder}")
    differed = sync_dashboards(folder, settings.parameters(), write=not check)
    for line in differed:
        console.print(f"{'differs' if check else 'updated'}: {line}")
    if check and differed:
        raise typer.Exit(1)
    if not differed:
        console.print("thresholds match the parameters")
