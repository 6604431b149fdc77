"""Writes simulated payroll master data and runs as PAXml 2.0 files, as the payroll system exports them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from servicepulse.schemas.events import PayCategory, PayLine

from .payroll_planted import SimPerson

__all__ = ["paxml_people", "paxml_run"]

_LONETYP = {PayCategory.gross: "BRUTTO", PayCategory.travel: "BRUTTO", PayCategory.per_diem: "BRUTTO",
            PayCategory.tax: "SKATT", PayCategory.deduction: "NETTO", PayCategory.pension: "PENSION",
            PayCategory.benefit: "FÖRMÅN", PayCategory.other: "KAPITAL"}


def _kr(ore: int) -> str:
    return f"{Decimal(ore) / 100:.2f}"


def paxml_people(people: list[SimPerson], company: str, previous_accounts: bool = False) -> bytes:
    """A PAXml 2.0 file with `personal/person` master data (with the previous bank account if asked)."""
    from xml.sax.saxutils import escape

    out = [_paxml_header(company), "  <personal>"]
    for p in people:
        account = p.previous_bank_account if previous_accounts and p.previous_bank_account else p.bank_account
        end = f"<avgdatum>{p.employed_to}</avgdatum>" if p.employed_to else ""
        out.append(f'    <person anstid="{p.employee_id}" persnr="{p.personnummer}"><fornamn>{escape(p.first_name)}'
                   f"</fornamn><efternamn>{escape(p.last_name)}</efternamn><bankclearing>{p.bank_clearing}"
                   f"</bankclearing><bankkonto>{account}</bankkonto><anstdatum>{p.employed_from}</anstdatum>{end}"
                   "</person>")
    out += ["  </personal>", "</paxml>"]
    return "\n".join(out).encode()


def paxml_run(lines: list[PayLine], company: str, period_id: str, pay_date: date) -> bytes:
    """A PAXml 2.0 file with one `lonebesked` per employee: the run's lines, net pay as `utbetalt`."""
    from xml.sax.saxutils import escape

    by_employee: dict[str, list[PayLine]] = {}
    for line in lines:
        by_employee.setdefault(line.employee_id, []).append(line)
    out = [_paxml_header(company), "  <loneutbetalning>"]
    for employee_id, own in by_employee.items():
        net = sum(x.amount_ore for x in own if x.category is PayCategory.net)
        out.append(f'    <lonebesked anstid="{employee_id}"><periodid>{period_id}</periodid>'
                   f"<betaldatum>{pay_date}</betaldatum><utbetalt>{_kr(net)}</utbetalt><lonerader>")
        for x in own:
            if x.category is PayCategory.net:
                continue
            parts = [f"<lonart>{x.pay_type}</lonart>"]
            if x.pay_type_name:
                parts.append(f"<benamning>{escape(x.pay_type_name)}</benamning>")
            start, end = (x.work_date, x.work_date) if x.work_date else (x.period_from, x.period_to)
            if start:
                parts.append(f"<datumfrom>{start}T00:00:00</datumfrom>")
            if end:
                parts.append(f"<datumtom>{end}T00:00:00</datumtom>")
            if x.quantity is not None:
                parts.append(f"<antal>{x.quantity}</antal>")
            if x.unit_price_ore is not None:
                parts.append(f"<apris>{_kr(x.unit_price_ore)}</apris>")
            parts.append(f"<belopp>{_kr(x.amount_ore)}</belopp><lonetyp>{_LONETYP[x.category]}</lonetyp>")
            if x.cost_account:
                parts.append(f"<kontonr>{x.cost_account}</kontonr>")
            out.append("      <lonrad>" + "".join(parts) + "</lonrad>")
        out.append("    </lonerader></lonebesked>")
    out += ["  </loneutbetalning>", "</paxml>"]
    return "\n".join(out).encode()


def _paxml_header(company: str) -> str:
    from xml.sax.saxutils import escape

    return ('<?xml version="1.0" encoding="utf-8"?>\n<paxml xmlns="http://www.paxml.se/2.0/paxml.xsd">\n'
            f"  <header><format>LÖNIN</format><version>2.0</version><foretagid>{escape(company)}</foretagid>"
            "<foretagorgnr>2120000142</foretagorgnr></header>")

