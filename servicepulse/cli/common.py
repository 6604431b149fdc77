"""Shared CLI plumbing: settings, logging and the single error exit."""

from __future__ import annotations

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
