"""Shared CLI plumbing: settings, logging and the single error exit."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from servicepulse.config import Settings, load_settings
from servicepulse.logging import configure_logging

__all__ = ["console", "fail", "settings_and_logging"]

console = Console(stderr=True)


def settings_and_logging() -> Settings:
    settings = load_settings()
    configure_logging(settings.log.format, settings.log.level)
    return settings


def fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def protected_ids(path: Path | None) -> set[str]:
    """The anstid of protected persons from `--protected` (the side-feed CSV), or none; a bad file fails clearly."""
    if path is None:
        return set()
    from servicepulse.connectors.ingest.paxml import read_protected

    with path.open("rb") as feed:
        try:
            return read_protected(feed)
        except ValueError as exc:
            fail(f"{path.name}: {exc}")
