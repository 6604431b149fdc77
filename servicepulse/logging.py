"""structlog set-up: JSON in production, readable on a terminal, personnummer never printed."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

__all__ = ["configure_logging", "redact_personnummer"]

# 12 or 10 digits with optional separator: the shape of a Swedish personnummer or
# samordningsnummer. Log lines are not an audit view, so anything of that shape is masked.
_PNR = re.compile(r"(?<!\d)(?:19|20)?\d{6}[-+]?\d{4}(?!\d)")


def redact_personnummer(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    for key, value in list(event_dict.items()):
        if isinstance(value, str) and _PNR.search(value):
            event_dict[key] = _PNR.sub("<personnummer>", value)
    return event_dict


class _Stderr:
    """The stderr current when logging was configured (so Faust's worker, which later redirects sys.stderr into
    its own logger, does not wrap our JSON lines), or the current one once that stream is closed (a test
    runner or CliRunner may swap in, then close, its own)."""

    def __init__(self) -> None:
        self._stream = sys.stderr

    def _target(self) -> TextIO:
        return sys.stderr if self._stream.closed else self._stream

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()


def configure_logging(fmt: str = "auto", level: str = "INFO") -> None:
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=True)
    )
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s")
    for noisy in ("aiokafka", "faust", "mode", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personnummer,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]  # a TextIO stand-in
        cache_logger_on_first_use=False,
    )
