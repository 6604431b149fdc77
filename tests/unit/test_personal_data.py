"""Personal data out of logs and free text: `redact`, `redact_free_text`, and the whole log pipeline."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import pytest
import structlog

from servicepulse.domain.personal_data import (
    MASK,
    is_personnummer,
    luhn_valid,
    redact,
    redact_free_text,
    remember_protected_names,
)
from servicepulse.logging import configure_logging, redact_value


def _with_check(first9: str) -> str:
    return next(first9 + c for c in "0123456789" if luhn_valid(first9 + c))


PNR = _with_check("811228987")  # 10 digits, Luhn-valid
COORD = _with_check("811288987")  # samordningsnummer: day 28 + 60
FORMS = [PNR, "19" + PNR, f"{PNR[:6]}-{PNR[6:]}", f"19{PNR[:6]}-{PNR[6:]}", f"{PNR[:6]}+{PNR[6:]}",
         f"{PNR[:6]} {PNR[6:]}", f"19{PNR[:6]} {PNR[6:]}", COORD, f"{COORD[:6]}-{COORD[6:]}", "19" + COORD,
         "121212-1212", "191212121212"]


@pytest.mark.parametrize("form", FORMS)
def test_every_common_form_is_masked(form: str) -> None:
    assert is_personnummer(form)
    for text in (form, f"pnr {form} x", f"id={form};", f"({form})", f"a\n{form}\nb", f"camt054-{form}-1"):
        out = redact(text)
        assert MASK in out and form not in out, text
        assert PNR[6:] not in out.replace(MASK, "") or PNR[6:] in text.replace(form, ""), text


@pytest.mark.parametrize("text", [
    "2120000142-2026-03-main",  # a run id that starts with an organisation number
    "212000-0142", "2120000142", "162120000142", "5560360793",  # organisation numbers
    "8112289875",  # the personnummer with a wrong check digit
    "8113329874", "8100009874",  # no such month or day
    "1234567897",  # an OCR reference (Luhn-valid, but month 56)
    "offset 9876543210", "account 3300 1234567890", "12345678901", "1234567890123",
    "2026-03-25T10:15:00+01:00", "seconds=1712345678.123",
])
def test_other_numbers_are_not_masked(text: str) -> None:
    assert redact(text) == text


def test_numbers_inside_longer_digit_runs_are_left_alone() -> None:
    assert redact("9" + PNR) == "9" + PNR and redact(PNR + "9") == PNR + "9"


def test_tracebacks_are_redacted() -> None:
    try:
        raise ValueError(f"cannot store {PNR[:6]}-{PNR[6:]} for run 2120000142-2026-03-main")
    except ValueError as exc:
        import traceback
        text = redact("".join(traceback.format_exception(exc)))
    assert PNR[6:] not in text and "2120000142-2026-03-main" in text and MASK in text


def test_nested_values_are_redacted() -> None:
    out = redact_value({"a": [PNR, ("x", {"b": f"19{PNR}"})], PNR: 5, "n": 7})
    assert PNR not in repr(out) and out["n"] == 7


def test_remembered_names_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from servicepulse.domain import personal_data
    monkeypatch.setattr(personal_data, "_names", frozenset())  # restored afterwards: other tests see no names
    monkeypatch.setattr(personal_data, "_names_re", None)
    remember_protected_names(["Skyddsdotter", "Al"])  # two letters: ignored
    assert redact("paid to Lisa SKYDDSDOTTER today, Al") == "paid to Lisa <name> today, Al"


def test_free_text_keeps_references_and_amounts_and_masks_the_rest() -> None:
    text = f"Faktura 4711 OCR 1234567897 hyra mars Anna Svensson {PNR[:6]}-{PNR[6:]} 1 250,00 kr anna@ex.se"
    out = redact_free_text(text)
    assert out == f"Faktura 4711 OCR 1234567897 hyra mars *** {MASK} 1 250,00 kr ***"
    assert redact_free_text(None) is None
    assert redact_free_text("1234567897") == "1234567897"  # a reference alone stays matchable


def test_log_pipeline_redacts_every_library(tmp_path: object) -> None:
    """A fresh interpreter: stdlib loggers (as faust/aiokafka/mode use them), structlog, and an uncaught error."""
    script = textwrap.dedent(f"""
        import logging, structlog
        from servicepulse.logging import configure_logging
        configure_logging("json", "INFO")
        try:
            raise ValueError("bad person {PNR[:6]}-{PNR[6:]} in run 2120000142-2026-03-main")
        except ValueError:
            logging.getLogger("aiokafka").error("consumer failed for %s", "19{PNR}", exc_info=True)
            logging.getLogger("mode").warning("%r", {{"k": "{PNR}"}})
            structlog.get_logger("x").error("sink failed", exc_info=True, nested={{"a": ["{PNR}"]}})
        raise RuntimeError("uncaught {PNR}")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    out = done.stdout + done.stderr
    assert done.returncode == 1
    print(f"\nlog pipeline: {out.count(MASK)} masks in {len(out.splitlines())} lines")
    assert PNR not in out and PNR[6:] not in out.replace("2120000142", "")
    assert out.count(MASK) >= 6 and "2120000142-2026-03-main" in out
    assert "consumer failed for" in out and "sink failed" in out and "uncaught" in out


def test_log_pipeline_in_process(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    configure_logging("json", "INFO")  # pytest's handlers stay on the root logger; the record factory redacts
    try:
        raise KeyError(f"19{PNR}")
    except KeyError:
        logging.getLogger("aiokafka.consumer").error("failed %s", PNR, exc_info=True)
        structlog.get_logger("t").error("boom", exc_info=True, pnr=PNR)
    err = capsys.readouterr().err + caplog.text
    assert PNR not in err and err.count(MASK) >= 4, err


def test_posting_texts_never_carry_a_personnummer_but_references_stay_as_sent() -> None:
    from datetime import UTC, date, datetime

    from servicepulse.schemas.events import InvoicePosting, PostingKind

    posting = InvoicePosting(
        event_id="p1", kind=PostingKind.incoming_payment, company="1040", account="9894", amount_ore=-125_000,
        posting_date=date(2026, 3, 10), recorded_at=datetime(2026, 3, 10, 12, tzinfo=UTC),
        text=f"Lön {PNR[:6]}-{PNR[6:]} retur", reference=PNR,
    )
    assert PNR[6:] not in (posting.text or "") and (posting.text or "").startswith("Lön ")
    assert posting.reference == PNR  # an OCR number may look like a personnummer: it must still match
