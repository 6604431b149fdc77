"""Employee master data as the rules see it: pseudonymous ids and hashes only, never a personnummer or name."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

__all__ = ["MissingPseudonymKey", "Person", "bank_hash", "protected_line_evidence", "pseudonym", "source_reference",
           "subject_for"]


class MissingPseudonymKey(ValueError):
    """A protected person's pseudonym or a bank-account hash was needed, and no pseudonym key was configured."""

    def __init__(self) -> None:
        super().__init__("no pseudonym key: set PAYROLL__PSEUDONYM_KEY (a secret), or SERVICEPULSE_DEMO=1 for the "
                         "demo key")


def _key(salt: str | None) -> bytes:
    if not salt:
        raise MissingPseudonymKey()
    return salt.encode()


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


def bank_hash(clearing: str, account: str, salt: str | None) -> str:
    """Salted hash of a bank account with spaces and dashes removed; equal accounts hash equal."""
    digits = "".join(ch for ch in f"{clearing}{account}" if ch.isdigit())
    return hmac.new(_key(salt), digits.encode(), hashlib.sha256).hexdigest()[:24]


def pseudonym(employee_id: str, salt: str | None) -> str:
    """Stable pseudonymous id for a protected person: not the anstid, not reversible without the salt."""
    return "SKYDD-" + hmac.new(_key(salt), employee_id.encode(), hashlib.sha256).hexdigest()[:16]


def subject_for(employee_id: str, person: Person | None, salt: str | None) -> str:
    """The id a finding, alert or log line may carry for this employee."""
    if person is not None and person.protected:
        return pseudonym(employee_id, salt)
    return employee_id


def source_reference(event_id: str, salt: str | None) -> str:
    """What a finding carries instead of the event id of a protected person's pay line.

    A line's event id (`<run>:<line number>`) joins to `payroll_lines`, which holds the anstid: carried in a
    finding about a pseudonym, it would undo the pseudonym. The keyed hash joins to nothing; who holds the key
    and the restricted view can recompute it from the line to show the evidence.
    """
    return "SKYDD-REF-" + hmac.new(_key(salt), b"line:" + event_id.encode(), hashlib.sha256).hexdigest()[:16]


def protected_line_evidence(doc: dict[str, object], salt: str | None) -> dict[str, object]:
    """A protected person's line as evidence: the event id replaced by its `source_reference`, the line number
    (which joins like the event id) left out; pay type, amounts and dates stay for the auditor."""
    out = {k: v for k, v in doc.items() if k != "line_no"}
    out["event_id"] = source_reference(str(doc["event_id"]), salt)
    return out
