"""structlog set-up: JSON in production, readable on a terminal, personnummer never printed by any library.

Redaction is the last step before text leaves the process, so it sees what is actually written, exception
text included (`servicepulse.domain.personal_data.redact`: Luhn-checked personnummer and samordningsnummer,
remembered protected names; organisation numbers and other numbers stay):

- structlog: a processor after `format_exc_info` walks every value (nested dicts, lists, exception text),
  and the renderer's output is redacted once more (reprs of objects are only strings after rendering).
- stdlib `logging` (faust, mode, aiokafka, urllib3, asyncio, ...): a log-record factory renders the message
  with its arguments, the traceback and stack info and redacts them when the record is made, so every
  handler and formatter sees redacted text — also the ones faust/mode install when they clear the root
  handlers at worker start. The root handler installed here also redacts its formatted output.
- tracebacks that bypass logging: `sys.excepthook`, `threading.excepthook` and `sys.unraisablehook`.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from servicepulse.domain.personal_data import redact

__all__ = ["RedactingFormatter", "configure_logging", "install_redaction", "redact_personnummer", "redact_value"]


def redact_value(value: Any) -> Any:
    """`value` with every string inside it (dicts, lists, tuples, sets) redacted; other values unchanged."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(redact_value(v) for v in value)
    return value


def redact_personnummer(_logger: WrappedLogger, _name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: every value of the event, nested ones and formatted exception text included."""
    return {key: redact_value(value) for key, value in event_dict.items()}


class _RedactedRenderer:
    """The renderer with its output redacted: the very last step of the structlog chain."""

    def __init__(self, renderer: Callable[[WrappedLogger, str, EventDict], Any]) -> None:
        self._renderer = renderer

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> Any:
        out = self._renderer(logger, name, event_dict)
        return redact(out) if isinstance(out, str) else out


class RedactingFormatter(logging.Formatter):
    """A stdlib formatter whose whole output (message, arguments, exception text) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

    def formatException(self, ei: Any) -> str:
        return redact(super().formatException(ei))


_base_factory: Callable[..., logging.LogRecord] | None = None
_exception_formatter = logging.Formatter()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _base_factory is not None
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging itself reports it later; keep the raw parts, redacted
        message = f"{record.msg!r} % {record.args!r}"
    # An empty tuple, not None: some handlers (mode's among them) wrap a non-tuple into a tuple, and "(None,)" then
    # formats into any "%" of the redacted message: "--- Logging error ---" for every Faust service start.
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(_exception_formatter.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))


def _unraisablehook(unraisable: Any) -> None:
    what = unraisable.err_msg or "Exception ignored in"
    text = "".join(traceback.format_exception(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))
    sys.stderr.write(redact(f"{what}: {unraisable.object!r}\n{text}"))


def install_redaction() -> None:
    """Redact every stdlib log record and every traceback that bypasses logging (idempotent)."""
    global _base_factory
    if _base_factory is None:
        _base_factory = logging.getLogRecordFactory()
        logging.setLogRecordFactory(_redacting_factory)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook


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
    install_redaction()
    handler = logging.StreamHandler(_Stderr())
    handler.setFormatter(RedactingFormatter("%(message)s"))
    # Only when nothing is installed yet (as before); the record factory redacts for any other handler.
    logging.basicConfig(level=numeric, handlers=[handler])
    for noisy in ("aiokafka", "faust", "mode", "urllib3", "httpx"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            # After the exception is text, before rendering: nothing reaches the renderer unredacted.
            redact_personnummer,
            _RedactedRenderer(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_Stderr()),  # type: ignore[arg-type]  # a TextIO stand-in
        cache_logger_on_first_use=False,
    )
