"""PAXml 2.0 exports written the way a payroll system writes them, not the way our own writer does.

Differences from `servicepulse.simulator.paxml_writer` on purpose: ISO-8859-1 with CRLF line ends, no
namespace (the published XSD has none), every section in one file (`personal`, `tidtransaktioner`,
`lonetransaktioner`, `loneutbetalning`), child elements in another order, `persnr` on every element beside
`anstid`, `postid`/`radnr` attributes, one-day lines as `datum` on transactions and `datumfrom`=`datumtom` on
payslip rows, the bank account paid on each payslip, and identical registered transactions printed as one
summed payslip row (so a transaction registered twice is visible only in `lonetransaktioner`).

`external_exports` turns a planted run (`simulator.payroll_planted`) into the files a customer would send:
the previous month's export, one file per urgent payment and this month's export. `context_from_exports`
reads them back as the pipeline would (`ingest paxml`: master data into the restricted table, bank change
dated by the export) and builds the rules' input without Kafka.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from servicepulse.connectors.ingest.paxml import PaxmlDocument, PersonRecord, read_document
from servicepulse.schemas.events import PayCategory, PayLine, PayrollRun
from servicepulse.simulator.payroll_planted import PlantedRun, SimPerson, previous_run_lines
from servicepulse.streams.payroll.people import Person, bank_hash
from servicepulse.streams.payroll.rules import EmployeeTotals, Line, RunContext, UrgentRunSummary

__all__ = ["SHARED_XSD", "ExternalExport", "context_from_exports", "external_exports", "read_export",
           "urgent_from_exports"]

# The published schema, beside the repository (never copied into it, never read at run time).
SHARED_XSD = Path(__file__).resolve().parents[3] / "shared" / "formats" / "paxml-2.0.xsd"

_LONETYP = {PayCategory.gross: "BRUTTO", PayCategory.travel: "BRUTTO", PayCategory.per_diem: "BRUTTO",
            PayCategory.tax: "SKATT", PayCategory.deduction: "NETTO", PayCategory.pension: "PENSION",
            PayCategory.benefit: "FÖRMÅN", PayCategory.other: "KAPITAL"}
# Pay types the payroll system computes itself (from master data or time reports): never a transaction.
_COMPUTED = frozenset({"11", "17", "18", "21", "52", "61"})
_TIME_CODES = {"61": "SJK", "52": "TJL", "21": "ARB"}


def _kr(ore: int) -> str:
    return f"{Decimal(ore) / 100:.2f}"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


@dataclass
class ExternalExport:
    """The files of one planted month as a customer's payroll system sends them, with their export dates."""

    previous: bytes
    current: bytes
    urgent: list[bytes] = field(default_factory=list)
    protected_csv: bytes = b"anstid\n"

    def write(self, folder: Path) -> list[Path]:
        """The files, in the order to ingest them (previous month, urgent payments, this month)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "export-previous.xml"]
        paths[0].write_bytes(self.previous)
        for i, data in enumerate(self.urgent):
            paths.append(folder / f"export-urgent-{i}.xml")
            paths[-1].write_bytes(data)
        paths.append(folder / "export-current.xml")
        paths[-1].write_bytes(self.current)
        (folder / "protected.csv").write_bytes(self.protected_csv)
        return paths


class _Writer:
    def __init__(self, company: str, exported: datetime) -> None:
        self.out: list[str] = ['<?xml version="1.0" encoding="ISO-8859-1" standalone="yes"?>', "<paxml>",
                               "  <header>", "    <version>2.0</version>", "    <format>LÖNIN</format>",
                               f"    <datum>{exported:%Y-%m-%dT%H:%M:%S}</datum>",
                               f"    <foretagid>{escape(company)}</foretagid>",
                               "    <foretagorgnr>2120000142</foretagorgnr>",
                               f"    <foretagnamn>{escape(company)}</foretagnamn>",
                               "    <programnamn>Lönesystem 7.4</programnamn>", "  </header>"]
        self.persnr: dict[str, str] = {}

    def who(self, anstid: str) -> str:
        pnr = self.persnr.get(anstid)
        return f'anstid="{anstid}"' + (f' persnr="{pnr}"' if pnr else "")

    def personal(self, people: Iterable[SimPerson], accounts: dict[str, str]) -> None:
        self.out.append("  <personal>")
        for p in people:
            self.persnr[p.employee_id] = p.personnummer
            end = f"<avgdatum>{p.employed_to}</avgdatum>" if p.employed_to else ""
            self.out.append(
                f"    <person {self.who(p.employee_id)}><efternamn>{escape(p.last_name)}</efternamn>"
                f"<fornamn>{escape(p.first_name)}</fornamn><anstdatum>{p.employed_from}</anstdatum>{end}"
                f"<bankkonto>{accounts.get(p.employee_id, p.bank_account)}</bankkonto>"
                f"<bankclearing>{p.bank_clearing}</bankclearing><lonform>MÅN</lonform></person>")
        self.out.append("  </personal>")

    def time_reports(self, lines: Sequence[PayLine]) -> None:
        rows = []
        for x in lines:
            code = _TIME_CODES.get(x.pay_type)
            if code is None:
                continue
            if x.work_date is not None:
                days = [x.work_date + timedelta(days=d) for d in range(max(1, int(abs(x.quantity or Decimal(1)))))]
            elif x.period_from is not None and x.period_to is not None and code != "ARB":
                days = [x.period_from + timedelta(days=d) for d in range((x.period_to - x.period_from).days + 1)]
            else:
                continue
            rows += [f"    <tidtrans {self.who(x.employee_id)}><tidkod>{code}</tidkod><datum>{d}</datum>"
                     "<timmar>8</timmar></tidtrans>" for d in days]
        if rows:
            self.out += ["  <tidtransaktioner>", *rows, "  </tidtransaktioner>"]

    def transactions(self, lines: Sequence[PayLine]) -> None:
        rows = []
        for n, x in enumerate(lines, start=1):
            if x.pay_type in _COMPUTED or x.category in (PayCategory.tax, PayCategory.pension, PayCategory.net):
                continue
            parts = [f"<lonart>{x.pay_type}</lonart>"]
            if x.work_date is not None:
                parts.append(f"<datum>{x.work_date}</datum>")
            if x.period_from is not None:
                parts.append(f"<datumfrom>{x.period_from}T00:00:00</datumfrom>")
            if x.period_to is not None:
                parts.append(f"<datumtom>{x.period_to}T00:00:00</datumtom>")
            if x.quantity is not None:
                parts.append(f"<antal>{_qty(x.quantity)}</antal>")
            if x.unit_price_ore is not None:
                parts.append(f"<apris>{_kr(x.unit_price_ore)}</apris>")
            parts.append(f"<belopp>{_kr(x.amount_ore)}</belopp>")
            if x.pay_type_name:
                parts.append(f"<benamning>{escape(x.pay_type_name)}</benamning>")
            rows.append(f'    <lonetrans postid="{n}" {self.who(x.employee_id)}>{"".join(parts)}</lonetrans>')
        if rows:
            self.out += ["  <lonetransaktioner>", *rows, "  </lonetransaktioner>"]

    def payslips(self, lines: Sequence[PayLine], period_id: str, pay_date: date, people: dict[str, SimPerson],
                 accounts: dict[str, str]) -> None:
        by_employee: dict[str, list[PayLine]] = {}
        for x in lines:
            by_employee.setdefault(x.employee_id, []).append(x)
        self.out.append("  <loneutbetalning>")
        for anstid, own in by_employee.items():
            net = sum(x.amount_ore for x in own if x.category is PayCategory.net)
            tax = -sum(x.amount_ore for x in own if x.category is PayCategory.tax)
            # The payslip prints identical registrations (pay type, dates, price) as one summed row.
            rows: dict[tuple[object, ...], list[PayLine]] = {}
            for x in own:
                if x.category is not PayCategory.net:
                    key = (x.pay_type, x.category, x.work_date, x.period_from, x.period_to, x.unit_price_ore)
                    rows.setdefault(key, []).append(x)
            person = people.get(anstid)
            bank = (f"<clearingnr>{person.bank_clearing}</clearingnr>"
                    f"<bankkonto>{accounts.get(anstid, person.bank_account)}</bankkonto>") if person else ""
            self.out.append(f"    <lonebesked {self.who(anstid)}><betaldatum>{pay_date}</betaldatum>"
                            f"<periodid>{period_id}</periodid><periodtext>{escape(period_id)}</periodtext>{bank}"
                            f"<tabellskatt>{_kr(tax)}</tabellskatt><utbetalt>{_kr(net)}</utbetalt><lonerader>")
            for radnr, group in enumerate(rows.values(), start=1):
                x = group[0]
                amount = sum(g.amount_ore for g in group)
                quantities = [g.quantity for g in group]
                parts = [f"<lonetyp>{_LONETYP[x.category]}</lonetyp>", f"<lonart>{x.pay_type}</lonart>"]
                if x.pay_type_name:
                    parts.append(f"<benamning>{escape(x.pay_type_name)}</benamning>")
                start, end = (x.work_date, x.work_date) if x.work_date else (x.period_from, x.period_to)
                if start:
                    parts.append(f"<datumfrom>{start}T00:00:00</datumfrom>")
                if end:
                    parts.append(f"<datumtom>{end}T00:00:00</datumtom>")
                if all(q is not None for q in quantities):
                    parts.append(f"<antal>{_qty(sum((q for q in quantities if q is not None), Decimal(0)))}</antal>")
                if x.unit_price_ore is not None:
                    parts.append(f"<apris>{_kr(x.unit_price_ore)}</apris>")
                parts.append(f"<belopp>{_kr(amount)}</belopp>")
                if x.cost_account:
                    parts.append(f"<kontonr>{x.cost_account}</kontonr>")
                self.out.append(f'      <lonrad radnr="{radnr}">{"".join(parts)}</lonrad>')
            self.out.append("    </lonerader></lonebesked>")
        self.out.append("  </loneutbetalning>")

    def done(self) -> bytes:
        self.out.append("</paxml>")
        return "\r\n".join(self.out).encode("iso-8859-1")


def external_exports(planted: PlantedRun) -> ExternalExport:
    """The planted month as a payroll system exports it: every section, the deviations inside."""
    header = planted.header
    company, pay_date = header.customer, header.pay_date
    people = planted.people
    prev_exported = datetime.combine(pay_date - timedelta(days=35), time(16, 5))
    exported = datetime.combine(pay_date - timedelta(days=5), time(16, 5))
    # Last month's export shows the account before a change made since then; an older change is already in it.
    before = {a: p.previous_bank_account for a, p in people.items()
              if p.previous_bank_account and p.bank_changed_on and p.bank_changed_on > prev_exported.date()}
    previous_lines = previous_run_lines(planted)
    prev_period = (pay_date.replace(day=1) - timedelta(days=1)).strftime("%Y%m")

    w = _Writer(company, prev_exported)
    w.personal(people.values(), before)
    w.payslips(previous_lines, prev_period, pay_date - timedelta(days=31), people, before)
    previous = w.done()

    w = _Writer(company, exported)
    w.personal(people.values(), {})
    w.time_reports(planted.lines)
    w.transactions(planted.lines)
    w.payslips(planted.lines, header.period.replace("-", ""), pay_date, people, {})
    current = w.done()

    urgent = []
    for i, (run, lines) in enumerate(planted.urgent_runs):
        w = _Writer(run.customer, datetime.combine(run.pay_date - timedelta(days=1), time(9)))
        w.transactions(lines)
        w.payslips(lines, f"{run.period.replace('-', '')}-A{i}", run.pay_date, people, {})
        urgent.append(w.done())
    protected = "anstid\n" + "".join(f"{a}\n" for a in planted.protected_ids)
    return ExternalExport(previous, current, urgent, protected.encode())


def read_export(data: bytes, protected: Iterable[str] = ()) -> PaxmlDocument:
    return read_document(io.BytesIO(data), frozenset(protected))


def _lines(doc: PaxmlDocument) -> list[Line]:
    return [Line.from_event(r.event) for r in doc.records if isinstance(r.event, PayLine)]


def _header(doc: PaxmlDocument) -> PayrollRun:
    event = doc.records[-1].event
    assert isinstance(event, PayrollRun)
    return event


def context_from_exports(export: ExternalExport, salt: str = "servicepulse") -> RunContext:
    """The current run's rule input as `ingest paxml` of the previous then the current export leaves it:
    master data from the files (a bank account differing from the previous export's changed by the current
    export's date), previous totals from the previous export's payslips."""
    protected = {line.strip() for line in export.protected_csv.decode().splitlines()[1:] if line.strip()}
    prev, cur = read_export(export.previous, protected), read_export(export.current, protected)
    assert prev.errors == [] and cur.errors == [], (prev.errors[:3], cur.errors[:3])
    stored = {p.employee_id: p for p in prev.people}

    def account(p: PersonRecord) -> str | None:
        return bank_hash(p.bank_clearing or "", p.bank_account, salt) if p.bank_account else None

    people = {}
    for p in cur.people:
        new, old = account(p), account(stored[p.employee_id]) if p.employee_id in stored else None
        changed = old is not None and new is not None and old != new
        people[p.employee_id] = Person(p.employee_id, p.protected, p.birth_date, p.employed_from, p.employed_to, new,
                                       old if changed else None, cur.exported_on if changed else None)
    previous: dict[str, EmployeeTotals] = {}
    prev_run = _header(prev).run_id
    for line in _lines(prev):
        totals = previous.get(line.employee_id, EmployeeTotals(prev_run, 0, 0))
        previous[line.employee_id] = EmployeeTotals(
            prev_run, totals.gross_ore + (line.amount_ore if line.category == "gross" else 0),
            totals.net_ore + (line.amount_ore if line.category == "net" else 0))
    return RunContext(_header(cur), _lines(cur), people, previous, salt)


def urgent_from_exports(export: ExternalExport) -> list[UrgentRunSummary]:
    out = []
    for data in export.urgent:
        doc = read_export(data)
        h = _header(doc)
        lines = _lines(doc)
        out.append(UrgentRunSummary(h.run_id, h.customer, h.period, h.pay_date, h.payment_channel,
                                    len({x.employee_id for x in lines}), h.net_ore or 0))
    return out
