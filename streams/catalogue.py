"""Every rule of every area in one list: what `servicepulse rules` prints and alert channel filters are checked
against."""

from __future__ import annotations

from servicepulse.domain.parameters import Parameters
from servicepulse.domain.rules import Rule

__all__ = ["catalogue"]


def catalogue(parameters: Parameters | None = None) -> list[Rule]:
    """Every rule of every area, ordered by id, with its version and values from `parameters` (default: the
    parameters file). Built from each area's `RULES`, so a rule added to an area is listed without more ado."""
    from servicepulse.streams.complaints.rules import RULES as COMPLAINTS
    from servicepulse.streams.contact.rules import RULES as CONTACT
    from servicepulse.streams.finance.rules import RULES as FINANCE
    from servicepulse.streams.ops.rules import RULES as OPS
    from servicepulse.streams.payroll.rules import RULES as PAYROLL

    found = [*CONTACT, *COMPLAINTS, *FINANCE, *PAYROLL, *OPS]
    if parameters is not None:
        found = [rule.using(parameters) for rule in found]
    return sorted(found, key=lambda rule: rule.rule_id)
