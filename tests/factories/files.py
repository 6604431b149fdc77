"""Valid input files for every importer, built from the samples in tests/data and the event examples."""

from __future__ import annotations

from pathlib import Path

from servicepulse.connectors.ingest.calls_csv import HEADER
from servicepulse.connectors.ingest.events_jsonl import dumps

from .calls import day_of_calls
from .events import examples

__all__ = ["DATA", "calls_csv", "events_jsonl", "samples", "staffing_csv"]

DATA = Path(__file__).resolve().parent.parent / "data"

_CALL_ROWS = [
    "c1,phone,payroll-service,Serviceförvaltningen Lön & pension,2026-03-12T09:01:00+01:00,"
    "2026-03-12T09:01:30+01:00,2026-03-12T09:05:30+01:00,false,true,LP-001",
    "c2,phone,payroll-service,Serviceförvaltningen Lön & pension,2026-03-12T09:05:00+01:00,"
    "2026-03-12T09:06:00+01:00,2026-03-12T09:10:00+01:00,0,0,LP-002",
    "c3,phone,vasby-direkt,Väsby Direkt,2026-03-12T09:06:00+01:00,,2026-03-12T09:06:06+01:00,true,,",
    "e1,email,payroll-service,Serviceförvaltningen Lön & pension,2026-03-12T09:02:00+01:00,"
    "2026-03-12T11:02:00+01:00,,nej,ja,LP-003",
    "c4,chat,kc-social,Kontaktcenter,2026-03-12T10:00:00Z,2026-03-12T10:00:20Z,2026-03-12T10:04:00Z,no,yes,KC-9",
    "c5,phone,kc-social,Kontaktcenter,2026-03-12T10:01:00+01:00,,,false,,",
]


def calls_csv() -> bytes:
    """A telephony export: header and one row per contact (answered, abandoned, e-mail, chat, still queued)."""
    return (",".join(HEADER) + "\n" + "\n".join(_CALL_ROWS) + "\n").encode()


def events_jsonl() -> bytes:
    """One line per event: every family's example, then the hand-computed day of calls."""
    return b"\n".join(dumps(e) for e in [*examples(), *day_of_calls()]) + b"\n"


def staffing_csv() -> bytes:
    return ("month,unit,role,fte\n2026-03,Lön,payroll_administrator,12.5\n2026-03,Ekonomi,supplier_invoices,4\n"
            "2026-03,Ekonomi,customer_invoices,\"3,5\"\n2026-04,Kontaktcenter,contact_centre,20.25\n").encode()


def samples() -> dict[str, list[bytes]]:
    """Valid files per importer (the samples' own deliberate errors included, where they have some)."""
    finance, payroll = DATA / "finance", DATA / "payroll"
    return {
        "sie4": [(finance / n).read_bytes() for n in ("sie4_valid.se", "e2e.se", "sie4_valid_import.si")],
        "bgmax": [(finance / n).read_bytes() for n in ("bgmax_valid.txt", "e2e_bgmax.txt")],
        "camt054": [(finance / "camt054_valid.xml").read_bytes()],
        "paxml": [(payroll / "main-202611.paxml").read_bytes()],
        "calls-csv": [calls_csv()],
        "events-jsonl": [events_jsonl()],
        "staffing-csv": [staffing_csv()],
    }
