"""Payroll master data into the restricted table: the stored bank-account hash is read back, so a new account
number is recorded as a bank-account change (which the payroll run checks then weigh).

Nothing here logs personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from clickhouse_connect.driver.client import Client

from servicepulse.connectors.ingest.paxml import PersonRecord

from ..payroll.people import bank_hash, pseudonym
from .queries import rows

__all__ = ["MASTER_DATA_RULES", "known_employees", "save_people"]

# The payroll rules that see nothing for an employee without master data in the restricted table.
MASTER_DATA_RULES = ("payroll.paid_after_termination", "payroll.bank_change_paid", "payroll.shared_bank_account",
                     "payroll.pension_age")


_PEOPLE_COLUMNS = ("employee_id", "personnummer", "coordination_number", "first_name", "last_name", "birth_date",
                   "employed_from", "employed_to", "bank_hash", "previous_bank_hash", "bank_changed_on", "protected",
                   "pseudonym", "source", "updated_at")


def save_people(client: Client, people: Sequence[PersonRecord], changed_on: date, source: str = "paxml",
                salt: str | None = None) -> int:
    """Upsert master data into the restricted table; a bank account differing from the stored one is a change."""
    if not people:
        return 0
    stored = {str(e): (h, p, c) for e, h, p, c in rows(client, "payroll_stored_bank_hashes",
                                                        ids=[p.employee_id for p in people])}
    now = datetime.now(UTC)
    out = []
    for p in people:
        new_hash = bank_hash(p.bank_clearing or "", p.bank_account, salt) if p.bank_account else None
        old_hash, previous, changed = stored.get(p.employee_id, (None, None, None))
        if old_hash is not None and new_hash is not None and old_hash != new_hash:
            previous, changed = old_hash, changed_on
        out.append([p.employee_id, p.personnummer, p.coordination_number, p.first_name, p.last_name, p.birth_date,
                    p.employed_from, p.employed_to, new_hash, previous, changed, p.protected,
                    pseudonym(p.employee_id, salt), source, now])
    client.insert("payroll_people_restricted", out, column_names=list(_PEOPLE_COLUMNS))
    return len(out)


def known_employees(client: Client, employee_ids: Sequence[str]) -> set[str]:
    """The employees among these that have master data stored (no personal data is read)."""
    if not employee_ids:
        return set()
    return {str(r[0]) for r in rows(client, "payroll_people_known", ids=list(employee_ids))}
