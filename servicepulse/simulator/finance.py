"""Supplier and customer invoices, their payments, and unidentified payments on 9894/9896 and their re-booking."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from servicepulse.domain.calendar import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    STOCKHOLM,
    add_working_days,
    from_ms,
    is_working_day,
    local_date,
    local_ms,
    next_working_day,
    office_window,
    on_or_after_working_day,
    previous_working_day,
    to_ms,
)
from servicepulse.schemas.events import InvoicePosting, PostingKind

from .agenda import Agenda
from .organisations import COMPANIES, Company, org_name, supplier_names
from .randomness import WeightedPicker, below, between, lognormal, poisson, rng_for, stable_int, uniform_times

__all__ = [
    "ACCOUNT_CUSTOMER_LEDGER",
    "ACCOUNT_OTHER_INCOME",
    "ACCOUNT_SUPPLIER_LEDGER",
    "ACCOUNT_UNIDENTIFIED",
    "ACCOUNT_UNMATCHED_CUSTOMER",
    "FinanceFamily",
    "PlantedCase",
    "luhn_check_digit",
    "luhn_valid",
    "planted_cases",
]

ACCOUNT_SUPPLIER_LEDGER = "2440"  # leverantörsskulder
ACCOUNT_CUSTOMER_LEDGER = "1510"  # kundfordringar
ACCOUNT_UNIDENTIFIED = "9894"  # oidentifierade inbetalningar (KassaBank)
ACCOUNT_UNMATCHED_CUSTOMER = "9896"  # inbetalningar som hör till kundreskontran men inte kunde prickas av
ACCOUNT_OTHER_INCOME = "3990"  # övriga intäkter, where cleared non-invoice payments end up

# Per working day at scale 1: 1.2 M supplier and 1.7 M customer invoices a year (seed 002) over ~250
# working days, a little more per day because July runs at 60 %.
SUPPLIER_INVOICES_PER_DAY = 4950
CUSTOMER_INVOICES_PER_DAY = 7000
OTHER_UNIDENTIFIED_PER_DAY = 10
_MONTH = {7: 0.6, 12: 0.9}
_REG_HOURS = {8: 0.8, 9: 1.2, 10: 1.2, 11: 1.0, 12: 0.6, 13: 1.1, 14: 1.1, 15: 0.9, 16: 0.3}
_REG_SHARE = {h: w / sum(_REG_HOURS.values()) for h, w in _REG_HOURS.items()}
# Bank files (BgMax) are read three times a working day; supplier payments leave in one early run.
_BANK_IMPORTS = (time(6, 30), time(10, 30), time(14, 30))
_BANK_IMPORT_HOURS = {t.hour for t in _BANK_IMPORTS}
_PAYMENT_RUN = time(5, 30)
_REBOOK_FROM = time(8, 30)
_SUPPLIERS = 3000
_CUSTOMERS = 250_000
_STAFF = 150
_ATTESTANTS = 4000
# Shares of paid customer invoices that cannot be matched automatically.
_P_UNIDENTIFIED = 0.012
_P_UNMATCHED_CUSTOMER = 0.02
_P_REBOOK_UNIDENTIFIED = 0.8
_P_REBOOK_UNMATCHED = 0.97
_P_REBOOK_OTHER = 0.55
# Noise real ledgers have: a supplier payment returned by the bank (closed account) and paid again once the
# account is corrected; a re-booking made to the wrong account, reversed and made again.
_P_PAYMENT_RETURNED = 0.004
_P_REBOOK_CORRECTED = 0.05

_SERIES_SUPPLIER, _SERIES_CUSTOMER, _SERIES_BANK, _SERIES_PAYOUT, _SERIES_MEMO = "L", "K", "B", "U", "M"
_KIND_SUPPLIER, _KIND_CUSTOMER, _KIND_OTHER = "1", "2", "3"


_DOUBLED = {str(d): (2 * d if d < 5 else 2 * d - 9) for d in range(10)}
_PLAIN = {str(d): d for d in range(10)}


def luhn_check_digit(digits: str) -> str:
    """The modulus-10 (Luhn) check digit Bankgirot uses for OCR references."""
    rev = digits[::-1]
    total = sum(_DOUBLED[c] for c in rev[0::2]) + sum(_PLAIN[c] for c in rev[1::2])
    return str(-total % 10)


def luhn_valid(number: str) -> bool:
    return len(number) > 1 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def _posting(event_id: str, kind: PostingKind, company: str, account: str, amount_ore: int, at_ms: int,
             series: str, number: str, document_date: date | None = None, due_date: date | None = None,
             counterparty_id: str | None = None, counterparty_name: str | None = None,
             invoice_number: str | None = None, reference: str | None = None, text: str | None = None,
             registered_by: str | None = None, approved_by: str | None = None) -> InvoicePosting:
    return InvoicePosting(
        event_id=event_id,
        kind=kind,
        company=company,
        account=account,
        amount_ore=amount_ore,
        posting_date=local_date(at_ms),
        document_date=document_date,
        due_date=due_date,
        voucher_series=series,
        voucher_number=number,
        counterparty_id=counterparty_id,
        counterparty_name=counterparty_name,
        invoice_number=invoice_number,
        reference=reference,
        text=text,
        registered_by=registered_by,
        approved_by=approved_by,
        recorded_at=from_ms(at_ms),
        source="simulator",
    )


def _amount_ore(rng: random.Random, median_sek: float, sigma: float, low_sek: int, high_sek: int) -> int:
    sek = min(high_sek, max(low_sek, lognormal(rng, median_sek, sigma)))
    # Many invoices are in whole kronor; the rest carry öre.
    return round(sek) * 100 if rng.random() < 0.45 else round(sek * 100)


def _staff(rng: random.Random, other: str | None = None) -> str:
    while True:
        user = f"EK-{between(rng, 1, _STAFF):03d}"
        if user != other:
            return user


@lru_cache(maxsize=100_000)
def _customer_name(seed: int, number: int) -> str:
    return org_name(seed, "customer", number)


class FinanceFamily:
    """Generates the invoices and bank postings that start in a slot and schedules their later postings."""

    name = "finance"

    def __init__(self, seed: int, scale: float, warmup_days: int = 0) -> None:
        # Invoices registered before the start are generated too, so their payments and re-bookings arrive
        # from the first day instead of after a month (their own postings are before the start and dropped).
        self.warmup_ms = warmup_days * DAY_MS if scale > 0 else 0
        self._seed = seed
        self._scale = scale
        self._salt = stable_int(seed, "customer-kind")
        names = supplier_names(seed, _SUPPLIERS)
        self._suppliers = [(f"L{10001 + i}", name) for i, name in enumerate(names)]
        # A few large suppliers get most invoices (energy, IT, facilities); a long tail gets a handful.
        self._supplier_pick = WeightedPicker(range(len(names)), [1.0 / (r + 1) ** 0.8 for r in range(len(names))])
        self._supplier_company = WeightedPicker(COMPANIES, [c.supplier_weight for c in COMPANIES])
        self._customer_company = WeightedPicker(COMPANIES, [c.customer_weight for c in COMPANIES])

    def generate(self, slot_ms: int, agenda: Agenda) -> None:
        if self._scale <= 0:
            return
        local = from_ms(slot_ms).astimezone(STOCKHOLM)
        day, hour = local.date(), local.hour
        if not is_working_day(day):
            return
        if hour == _PLANT_HOUR and slot_ms >= agenda.keep_from_ms:
            _plant(self._seed, slot_ms, agenda, local_date(agenda.keep_from_ms))
        utc = from_ms(slot_ms)
        year_start = to_ms(datetime(utc.year, 1, 1, tzinfo=UTC))
        prefix = f"{utc:%y}{(slot_ms - year_start) // HOUR_MS:04d}"
        window = office_window(day)
        factor = self._scale * _MONTH.get(day.month, 1.0)
        if window is not None and hour in _REG_SHARE:
            lo, hi = max(slot_ms, window[0]), min(slot_ms + HOUR_MS, window[1])
            rng = rng_for(self._seed, "finance-supplier", slot_ms)
            counters: dict[str, int] = {}
            for t0 in uniform_times(rng, poisson(rng, SUPPLIER_INVOICES_PER_DAY * _REG_SHARE[hour] * factor), lo, hi):
                company = self._supplier_company.pick(rng)
                idx = counters[company.code] = counters.get(company.code, 0) + 1
                self._supplier_invoice(rng, agenda, company, f"{prefix}{_KIND_SUPPLIER}{idx:04d}", t0, day)
            rng = rng_for(self._seed, "finance-customer", slot_ms)
            next_day = next_working_day(day)
            counters = {}
            for t0 in uniform_times(rng, poisson(rng, CUSTOMER_INVOICES_PER_DAY * _REG_SHARE[hour] * factor), lo, hi):
                company = self._customer_company.pick(rng)
                idx = counters[company.code] = counters.get(company.code, 0) + 1
                self._customer_invoice(rng, agenda, company, f"{prefix}{_KIND_CUSTOMER}{idx:04d}", t0, day,
                                       next_day)
        if hour in _BANK_IMPORT_HOURS:
            rng = rng_for(self._seed, "finance-bank", slot_ms)
            imported = local_ms(day, next(t for t in _BANK_IMPORTS if t.hour == hour))
            count = poisson(rng, OTHER_UNIDENTIFIED_PER_DAY / len(_BANK_IMPORTS) * factor)
            counters = {}
            for i in range(count):
                company = self._customer_company.pick(rng)
                idx = counters[company.code] = counters.get(company.code, 0) + 1
                t0 = max(slot_ms, imported) + i * 1000 + below(rng, 1000)
                self._other_unidentified(rng, agenda, company, f"{prefix}{_KIND_OTHER}{idx:04d}", t0, day)

    def _supplier_invoice(self, rng: random.Random, agenda: Agenda, company: Company, number: str, t0: int,
                          today: date) -> None:
        supplier_id, supplier_name = self._suppliers[self._supplier_pick.pick(rng)]
        amount = _amount_ore(rng, 6000, 1.4, 50, 8_000_000)
        credit_note = rng.random() < 0.03
        document_date = today - timedelta(days=between(rng, 0, 12))
        due_date = document_date + timedelta(days=30)
        invoice_number = str(between(rng, 10_000, 999_999_999))
        registered_by = _staff(rng)
        approved_by = f"AT-{between(rng, 1, _ATTESTANTS):04d}"
        draw = rng.random()
        if draw < 0.96:
            pay_day = due_date if is_working_day(due_date) else previous_working_day(due_date)
        elif draw < 0.99:
            pay_day = on_or_after_working_day(due_date + timedelta(days=between(rng, 3, 25)))
        else:
            pay_day = None  # disputed or on hold: never paid within the horizon
        pay_at = None if pay_day is None else local_ms(pay_day, _PAYMENT_RUN) + below(rng, 30 * MINUTE_MS)
        code = company.code
        if t0 >= agenda.keep_from_ms:  # in the warm-up only the later steps are kept
            agenda.add(t0, _posting, f"{code}-{_SERIES_SUPPLIER}{number}", PostingKind.supplier_invoice, code,
                       ACCOUNT_SUPPLIER_LEDGER, amount if credit_note else -amount, t0, _SERIES_SUPPLIER, number,
                       document_date, due_date, supplier_id, supplier_name, invoice_number, None,
                       "Kreditfaktura" if credit_note else "Leverantörsfaktura", registered_by, approved_by)
        if credit_note or pay_at is None or pay_at <= t0:
            return
        agenda.add(pay_at, _posting, f"{code}-{_SERIES_PAYOUT}{number}", PostingKind.outgoing_payment, code,
                   ACCOUNT_SUPPLIER_LEDGER, amount, pay_at, _SERIES_PAYOUT, number, document_date, due_date,
                   supplier_id, supplier_name, invoice_number, invoice_number, "Utbetalning leverantörsfaktura")
        if rng.random() < _P_PAYMENT_RETURNED:
            # The bank returns the payment (the supplier's account was closed): the payment voucher is reversed,
            # and after the account is corrected the invoice is paid again by hand, approved by a second person.
            assert pay_day is not None
            back_day = add_working_days(pay_day, between(rng, 1, 3))
            back_at = local_ms(back_day, _BANK_IMPORTS[0]) + below(rng, 15 * MINUTE_MS)
            clerk = _staff(rng)
            agenda.add(back_at, _posting, f"{code}-{_SERIES_PAYOUT}{number}R", PostingKind.outgoing_payment, code,
                       ACCOUNT_SUPPLIER_LEDGER, -amount, back_at, _SERIES_PAYOUT, f"{number}R", document_date,
                       due_date, supplier_id, supplier_name, invoice_number, invoice_number,
                       f"Retur från bank, ver {_SERIES_PAYOUT} {number}", clerk, _staff(rng, clerk))
            again_at = local_ms(add_working_days(back_day, between(rng, 1, 5)), _REBOOK_FROM) + below(rng, HOUR_MS)
            agenda.add(again_at, _posting, f"{code}-{_SERIES_PAYOUT}{number}B", PostingKind.outgoing_payment, code,
                       ACCOUNT_SUPPLIER_LEDGER, amount, again_at, _SERIES_PAYOUT, f"{number}B", document_date,
                       due_date, supplier_id, supplier_name, invoice_number, invoice_number,
                       "Utbetalning leverantörsfaktura, ny betalning efter retur", clerk, _staff(rng, clerk))

    def _customer(self, number: int) -> tuple[str, str | None]:
        customer_id = f"K{number:07d}"
        # Three in ten customers are organisations; private persons are never named in the simulation.
        if (number * 2_654_435_761 + self._salt) % 1_000 < 300:
            return customer_id, _customer_name(self._seed, number)
        return customer_id, None

    def _customer_invoice(self, rng: random.Random, agenda: Agenda, company: Company, number: str, t0: int,
                          today: date, tomorrow: date) -> None:
        customer_id, customer_name = self._customer(between(rng, 1, _CUSTOMERS))
        amount = _amount_ore(rng, 1200, 1.1, 20, 2_000_000)
        credit_note = rng.random() < 0.01
        due_date = today + timedelta(days=30)
        registered_by = _staff(rng)
        draw = rng.random()
        if draw < 0.70:
            offset = between(rng, -8, 0)
        elif draw < 0.95:
            offset = between(rng, 1, 20)
        else:
            offset = between(rng, 21, 60)
        pay_day = max(on_or_after_working_day(due_date + timedelta(days=offset)), tomorrow)
        pay_at = local_ms(pay_day, _BANK_IMPORTS[below(rng, len(_BANK_IMPORTS))]) + below(rng, 15 * MINUTE_MS)
        paid = rng.random() >= 0.025
        match = rng.random()
        code = company.code
        ocr = number + luhn_check_digit(number)
        if t0 >= agenda.keep_from_ms:  # in the warm-up only the later steps are kept
            agenda.add(t0, _posting, f"{code}-{_SERIES_CUSTOMER}{number}", PostingKind.customer_invoice, code,
                       ACCOUNT_CUSTOMER_LEDGER, -amount if credit_note else amount, t0, _SERIES_CUSTOMER, number, today,
                       due_date, customer_id, customer_name, number, ocr,
                       "Kreditfaktura" if credit_note else "Kundfaktura", registered_by)
        if credit_note or not paid:
            return
        bank_id = f"{code}-{_SERIES_BANK}{number}"
        if match < _P_UNIDENTIFIED:
            # Unidentified: the OCR is missing or mistyped, so the payment lands on the suspense account.
            reference = ocr[:-1] + str((int(ocr[-1]) + between(rng, 1, 9)) % 10) if rng.random() < 0.5 else None
            agenda.add(pay_at, _posting, bank_id, PostingKind.incoming_payment, code, ACCOUNT_UNIDENTIFIED, -amount,
                       pay_at, _SERIES_BANK, number, None, None, None, None, None, reference,
                       "Oidentifierad inbetalning")
            if rng.random() < _P_REBOOK_UNIDENTIFIED:
                self._rebook(rng, agenda, code, number, ACCOUNT_UNIDENTIFIED, ACCOUNT_CUSTOMER_LEDGER, amount,
                             add_working_days(pay_day, between(rng, 1, 15)), pay_day, customer_id, customer_name,
                             number, reference)
        elif match < _P_UNIDENTIFIED + _P_UNMATCHED_CUSTOMER:
            agenda.add(pay_at, _posting, bank_id, PostingKind.incoming_payment, code, ACCOUNT_UNMATCHED_CUSTOMER,
                       -amount, pay_at, _SERIES_BANK, number, None, None, customer_id, customer_name, None, ocr,
                       "Inbetalning kundreskontra, ej avprickad")
            if rng.random() < _P_REBOOK_UNMATCHED:
                self._rebook(rng, agenda, code, number, ACCOUNT_UNMATCHED_CUSTOMER, ACCOUNT_CUSTOMER_LEDGER, amount,
                             add_working_days(pay_day, between(rng, 1, 3)), pay_day, customer_id, customer_name,
                             number, ocr)
        else:
            agenda.add(pay_at, _posting, bank_id, PostingKind.incoming_payment, code, ACCOUNT_CUSTOMER_LEDGER,
                       -amount, pay_at, _SERIES_BANK, number, None, None, customer_id, customer_name, number, ocr,
                       "Inbetalning OCR")

    def _other_unidentified(self, rng: random.Random, agenda: Agenda, company: Company, number: str, t0: int,
                            today: date) -> None:
        amount = _amount_ore(rng, 3000, 1.2, 10, 1_000_000)
        rebook = rng.random() < _P_REBOOK_OTHER
        rebook_day = add_working_days(today, between(rng, 2, 25))
        code = company.code
        agenda.add(t0, _posting, f"{code}-{_SERIES_BANK}{number}", PostingKind.incoming_payment, code,
                   ACCOUNT_UNIDENTIFIED, -amount, t0, _SERIES_BANK, number, None, None, None, None, None, None,
                   "Oidentifierad inbetalning")
        if rebook:
            self._rebook(rng, agenda, code, number, ACCOUNT_UNIDENTIFIED, ACCOUNT_OTHER_INCOME, amount, rebook_day,
                         today, None, None, None, None)

    def _rebook(self, rng: random.Random, agenda: Agenda, code: str, number: str, suspense: str, target: str,
                amount: int, day: date, original_date: date, counterparty_id: str | None,
                counterparty_name: str | None, invoice_number: str | None, reference: str | None) -> None:
        """A two-line memorial voucher that clears the suspense account: debit it, credit the real account."""
        at_ms = local_ms(day, _REBOOK_FROM) + below(rng, 7 * HOUR_MS)
        clerk = _staff(rng)
        approver = _staff(rng, clerk)
        text = f"Omförd från ver {_SERIES_BANK} {number}"
        if rng.random() < _P_REBOOK_CORRECTED:
            # Re-booked to the wrong account first (another income account): reversed, which credits the
            # suspense account again, and re-booked from that reversal to the right account.
            wrong = ACCOUNT_OTHER_INCOME if target != ACCOUNT_OTHER_INCOME else ACCOUNT_CUSTOMER_LEDGER
            first = [(f"{number}-1", number, suspense, amount, text), (f"{number}-2", number, wrong, -amount, text)]
            undo = f"Återföring av ver {_SERIES_MEMO} {number}"
            # Voucher numbers stay digits (a reference "ver M 123" names digits only): one more digit than any
            # generated number, so they never collide.
            first += [(f"{number}1-1", f"{number}1", suspense, -amount, undo),
                      (f"{number}1-2", f"{number}1", wrong, amount, undo)]
            redo = f"Omförd från ver {_SERIES_MEMO} {number}1"
            first += [(f"{number}2-1", f"{number}2", suspense, amount, redo),
                      (f"{number}2-2", f"{number}2", target, -amount, redo)]
            for step, (suffix, voucher, account, signed, words) in enumerate(first):
                at = at_ms + (step // 2) * 20 * MINUTE_MS
                agenda.add(at, _posting, f"{code}-{_SERIES_MEMO}{suffix}", PostingKind.ledger_posting, code,
                           account, signed, at, _SERIES_MEMO, voucher, original_date, None, counterparty_id,
                           counterparty_name, invoice_number, reference, words, clerk, approver)
            return
        for line, account, signed in ((1, suspense, amount), (2, target, -amount)):
            agenda.add(at_ms, _posting, f"{code}-{_SERIES_MEMO}{number}-{line}", PostingKind.ledger_posting, code,
                       account, signed, at_ms, _SERIES_MEMO, number, original_date, None, counterparty_id,
                       counterparty_name, invoice_number, reference, text, clerk, approver)


# --------------------------------------------------------------------------- planted control cases
# Cases for the payment controls, planted on the first working days after the start, at any scale, with
# their ground truth (`planted_cases`): rule id and the subject id the finding must carry. Their voucher
# numbers start with 9 and their suppliers with L9 so they never collide with the generated flow.

_PLANT_HOUR = 10
_PLANT_COMPANY = "1010"
_BENFORD_INVOICES = 1100


@dataclass(frozen=True)
class PlantedCase:
    rule_id: str
    subject_id: str
    what: str


def _plant_days(start: date) -> list[date]:
    days, day = [], start
    for _ in range(6):
        day = next_working_day(day)
        days.append(day)
    return days


def planted_cases(start: date) -> list[PlantedCase]:
    """Ground truth of the planted cases for a simulation starting on `start` (Stockholm date)."""
    c = _PLANT_COMPANY
    d = _plant_days(start)
    return [
        PlantedCase("ap.duplicate_payment", f"{c}-U9{d[1]:%y%m%d}01-2", "same supplier, invoice and amount paid twice"),
        PlantedCase("ap.duplicate_payment", f"{c}-U9{d[1]:%y%m%d}02-2",
                    "one supplier under two ids and spellings, same amount one working day apart"),
        PlantedCase("ap.split_invoice", f"{c}:L90003", "three invoices of 20 000-24 000 SEK, one day, one approver"),
        PlantedCase("ap.new_supplier_four_eyes", f"{c}-U9{d[0]:%y%m%d}04",
                    "new supplier paid by hand, registrar approved it"),
        PlantedCase("ar.refund_limit", f"{c}-K9{d[0]:%y%m%d}05", "customer credit note of 60 000 SEK"),
        PlantedCase("ar.refund_limit", f"{c}-R9{d[0]:%y%m%d}06", "refund of 30 000 SEK from the customer ledger"),
        PlantedCase("ap.benford", f"{c}:L90007", f"{_BENFORD_INVOICES} invoices of 45 000-49 999 SEK"),
        PlantedCase("gl.suspense_aged", f"{c}:{_SERIES_BANK} 9{d[0]:%y%m%d}08",
                    "unidentified payment of 75 000 SEK never re-booked (over the amount limit)"),
        PlantedCase("bank.likely_unidentified", f"{c}-{_SERIES_BANK}9{d[0]:%y%m%d}08",
                    "the same payment, no reference"),
    ]


def _plant(seed: int, slot_ms: int, agenda: Agenda, start: date) -> None:
    d = _plant_days(start)
    today = local_date(slot_ms)
    if today not in d:
        return
    c = _PLANT_COMPANY
    at = slot_ms + 5 * MINUTE_MS
    tag = f"9{today:%y%m%d}"

    def supplier_invoice(no: str, amount: int, supplier: tuple[str, str], invoice: str, registered: str,
                         approved: str | None, at_ms: int) -> None:
        agenda.add(at_ms, _posting, f"{c}-{_SERIES_SUPPLIER}{no}", PostingKind.supplier_invoice, c,
                   ACCOUNT_SUPPLIER_LEDGER, -amount, at_ms, _SERIES_SUPPLIER, no, today, today + timedelta(days=30),
                   supplier[0], supplier[1], invoice, None, "Leverantörsfaktura", registered, approved)

    def payment(no: str, amount: int, supplier: tuple[str, str], invoice: str, day: date) -> None:
        pay_ms = local_ms(day, _PAYMENT_RUN)
        if pay_ms < slot_ms:
            pay_ms = at + MINUTE_MS
        agenda.add(pay_ms, _posting, f"{c}-{_SERIES_PAYOUT}{no}", PostingKind.outgoing_payment, c,
                   ACCOUNT_SUPPLIER_LEDGER, amount, pay_ms, _SERIES_PAYOUT, no, today, None, supplier[0],
                   supplier[1], invoice, invoice, "Utbetalning leverantörsfaktura")

    if today == d[0]:
        # A new supplier paid by hand (outside the payment run), registered and approved by the same person.
        agenda.add(at, _posting, f"{c}-{_SERIES_PAYOUT}{tag}04", PostingKind.outgoing_payment, c,
                   ACCOUNT_SUPPLIER_LEDGER, 1_875_000, at, _SERIES_PAYOUT, f"{tag}04", today, None, "L90004",
                   "Konsultfirman Nyström AB", "NY-1001", "NY-1001", "Manuell utbetalning", "EK-031", "EK-031")
        # A credit note (cancellation) and a refund in the customer ledger above the limit.
        agenda.add(at, _posting, f"{c}-{_SERIES_CUSTOMER}{tag}05", PostingKind.customer_invoice, c,
                   ACCOUNT_CUSTOMER_LEDGER, -6_000_000, at, _SERIES_CUSTOMER, f"{tag}05", today,
                   today + timedelta(days=30), "K0900005", "Bostadsrättsföreningen Lönnen", f"{tag}05",
                   f"{tag}05" + luhn_check_digit(f"{tag}05"), "Kreditfaktura, makulering", "EK-044")
        agenda.add(at, _posting, f"{c}-R{tag}06", PostingKind.outgoing_payment, c, ACCOUNT_CUSTOMER_LEDGER,
                   3_000_000, at, "R", f"{tag}06", today, None, "K0900006", None, None, None,
                   "Återbetalning överskjutande belopp", "EK-045", "EK-046")
        # A large unidentified payment without reference, never re-booked.
        agenda.add(at, _posting, f"{c}-{_SERIES_BANK}{tag}08", PostingKind.incoming_payment, c, ACCOUNT_UNIDENTIFIED,
                   -7_500_000, at, _SERIES_BANK, f"{tag}08", None, None, None, None, None, None,
                   "Oidentifierad inbetalning")
    if today == d[1]:
        # Exact duplicate: the same invoice paid today and again the next working day.
        supplier = ("L90001", "Trafikskolan Centrum AB")
        supplier_invoice(f"{tag}01", 1_234_500, supplier, "TC-55821", "EK-012", "AT-0412", at)
        payment(f"{tag}01-1", 1_234_500, supplier, "TC-55821", today)
        payment(f"{tag}01-2", 1_234_500, supplier, "TC-55821", d[2])
        # Near duplicate: the same supplier registered twice, same amount a day apart, other invoice number.
        payment(f"{tag}02-1", 845_000, ("L90002", "Städbolaget i Norr AB"), "SN-2201", today)
        payment(f"{tag}02-2", 845_000, ("L90902", "STÄDBOLAGET I NORR (publ)"), "SN-2201B", d[2])
        # Split invoice: three invoices of one supplier, one approver, each under 50 000 SEK, together over.
        split = ("L90003", "Byggservice Söder AB")
        for i, amount in enumerate((2_000_000, 2_200_000, 2_400_000), start=1):
            supplier_invoice(f"{tag}03{i}", amount, split, f"BS-77{i}", "EK-020", "AT-0777", at + i * MINUTE_MS)
    # Benford: one supplier's invoices all just under the approval limit, spread over the six days.
    rng = rng_for(seed, "finance-planted-benford", today.toordinal())
    count = _BENFORD_INVOICES // len(d) + (1 if d.index(today) < _BENFORD_INVOICES % len(d) else 0)
    bent = ("L90007", "Entreprenad Väst AB")
    for i in range(count):
        amount = between(rng, 4_500_000, 4_999_900)
        # A different approver for each invoice of a day, so they are no split-invoice case as well.
        approver = f"AT-{1 + (d.index(today) * 200 + i) % _ATTESTANTS:04d}"
        supplier_invoice(f"{tag}07{i:03d}", amount, bent, f"EV-{tag}{i:03d}", "EK-050", approver,
                         at + 10 * MINUTE_MS + i * 1000)
