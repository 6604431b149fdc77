"""`dashboards generate`: the Grafana JSON in dashboards/ written from the Python dashboard modules."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import console, fail, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Grafana dashboards", no_args_is_help=True)
    group.command(help="Write dashboards/*.json from servicepulse/dashboards/ (panel SQL, thresholds from the "
                  "parameters file and override file).")(generate)
    # `sync` wrote the colour thresholds into hand-written JSON; generating writes them too, so it is an alias.
    group.command(name="sync", help="Same as `generate` (kept for scripts that call it).")(generate)
    app.add_typer(group, name="dashboards")


def generate(
    folder: Path = typer.Option(Path("dashboards"), help="Folder of the dashboard JSON files"),
    check: bool = typer.Option(False, "--check", help="Only report differences; exit 1 when there are any"),
) -> None:
    from servicepulse.dashboards import write_dashboards

    settings = settings_and_logging()
    if not folder.is_dir():
        fail(f"no dashboard folder at {folder}")
    differed = write_dashboards(folder, settings.parameters(), write=not check)
    for name in differed:
        console.print(f"{'differs' if check else 'written'}: {name}")
    if check and differed:
        raise typer.Exit(1)
    if not differed:
        console.print("dashboards match their generator")
