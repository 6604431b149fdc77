"""Employee master data as the rules see it: pseudonymous ids and hashes only, never a personnummer or name."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

__all__ = ["Person", "bank_hash", "pseudonym", "subject_for"]


@dataclass(frozen=True, slots=True)
class Person:
    """What a rule may know about an employment (anstid).

    The personnummer and name live only in the restricted table; here the birth date (for the pension
    rule) and salted hashes of bank accounts (where only equality matters) stand in for them.
    """

    employee_id: str
    protected: bool = False
    birth_date: date | None = None
    employed_from: date | None = None
    employed_to: date | None = None
    bank_hash: str | None = None
    previous_bank_hash: str | None = None
    bank_changed_on: date | None = None


def bank_hash(clearing: str, account: str, salt: str) -> str:
    """Salted hash of a bank account with spaces and dashes removed; equal accounts hash equal."""
    digits = "".join(ch for ch in f"{clearing}{account}" if ch.isdigit())
    return hmac.new(salt.encode(), digits.encode(), hashlib.sha256).hexdigest()[:24]


def pseudonym(employee_id: str, salt: str) -> str:
    """Stable pseudonymous id for a protected person: not the anstid, not reversible without the salt."""
    return "SKYDD-" + hmac.new(salt.encode(), employee_id.encode(), hashlib.sha256).hexdigest()[:16]


def subject_for(employee_id: str, person: Person | None, salt: str) -> str:
    """The id a finding, alert or log line may carry for this employee."""
    if person is not None and person.protected:
        return pseudonym(employee_id, salt)
    return employee_id
