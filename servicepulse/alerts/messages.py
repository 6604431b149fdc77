"""The chat words in Swedish (default) and English: one catalogue for the digest templates."""

from __future__ import annotations

__all__ = ["LANGUAGES", "MESSAGES", "message"]

LANGUAGES = ("sv", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "new": {"sv": "nya: {n}", "en": "new: {n}"},
    "resolved": {"sv": "åtgärdade: {n}", "en": "resolved: {n}"},
    "all_orgs": {"sv": "hela förvaltningen", "en": "whole administration"},
    "part": {"sv": "del {part}", "en": "part {part}"},
    "state.raised": {"sv": "Ny", "en": "New"},
    "state.resolved": {"sv": "Åtgärdad", "en": "Resolved"},
    "state.both": {"sv": "Ny och åtgärdad", "en": "New and resolved"},
    "resolved_at": {"sv": "åtgärdad {at}", "en": "resolved {at}"},
    "measured": {"sv": "uppmätt {value}, mål {target}", "en": "measured {value}, target {target}"},
    "window": {"sv": "period {window}", "en": "window {window}"},
    "rule": {"sv": "regel {rule} v{version}", "en": "rule {rule} v{version}"},
    "sev.critical": {"sv": "KRITISK", "en": "CRITICAL"},
    "sev.high": {"sv": "HÖG", "en": "HIGH"},
    "sev.medium": {"sv": "MEDEL", "en": "MEDIUM"},
    "sev.low": {"sv": "LÅG", "en": "LOW"},
    "sev.info": {"sv": "INFO", "en": "INFO"},
    "suspense.raised": {
        "sv": "Verifikation {voucher} på konto {account}: {amount} öppet, över gränsen sedan {since} ({reasons})",
        "en": "Voucher {voucher} on account {account}: {amount} open, over the limit since {since} ({reasons})",
    },
    "suspense.resolved": {"sv": "Post {voucher} avstämd eller inom gränserna",
                          "en": "Item {voucher} cleared or back within the limits"},
    "reason.age": {"sv": "ålder", "en": "age"},
    "reason.amount": {"sv": "belopp", "en": "amount"},
    "dead_letters.raised": {"sv": "Avvisad indata från {topic} ({kind})", "en": "Rejected input from {topic} ({kind})"},
    "service_level.raised": {"sv": "Servicenivå {value} under målet {target} i {queue}",
                             "en": "Service level {value} below the target {target} in {queue}"},
    "service_level.resolved": {"sv": "Servicenivå i {queue} tillbaka på {value} (mål {target})",
                               "en": "Service level in {queue} back at {value} (target {target})"},
    "email_deadline.raised": {"sv": "{n} e-postmeddelande(n) i {group} inte besvarade i tid (första förfallotid {due})",
                              "en": "{n} e-mail(s) in {group} not answered in time (first due {due})"},
    "email_deadline.resolved": {"sv": "Sena e-post i {group} med förfallodag {day} nu besvarade",
                                "en": "Late e-mails in {group} due {day} now answered"},
    "case_lead_time.raised": {
        "sv": "{n} ärende(n) av typen {group} inte avslutade inom ledtiden (första förfallotid {due})",
        "en": "{n} case(s) of type {group} not closed within the lead time (first due {due})",
    },
    "case_lead_time.resolved": {"sv": "Sena ärenden av typen {group} med förfallodag {day} nu avslutade",
                                "en": "Late cases of type {group} due {day} now closed"},
    "ack_deadline.raised": {
        "sv": "Klagomål från {customer} ({process}) inte bekräftat inom {hours} kontorstimmar (förfallotid {due})",
        "en": "Complaint for {customer} ({process}) not acknowledged within {hours} office hours (due {due})",
    },
    "ack_deadline.resolved": {"sv": "Klagomål från {customer} ({process}) bekräftat efter {hours} kontorstimmar",
                              "en": "Complaint for {customer} ({process}) acknowledged after {hours} office hours"},
    "backlog.raised": {"sv": "Klagomålsbalansen {open} öppna är över gränsen {threshold}",
                       "en": "Complaint backlog of {open} open above the threshold {threshold}"},
    "backlog.resolved": {"sv": "Klagomålsbalansen tillbaka på {open} öppna (gräns {threshold})",
                         "en": "Complaint backlog back at {open} open (threshold {threshold})"},
    "unit.ratio": {"sv": "", "en": ""},
    "unit.count": {"sv": "st", "en": ""},
    "unit.working_days": {"sv": "arbetsdagar", "en": "working days"},
    "unit.office hours": {"sv": "kontorstimmar", "en": "office hours"},
    "unit.seconds": {"sv": "s", "en": "s"},
    "unit.SEK": {"sv": "kr", "en": "SEK"},
}


def message(key: str, lang: str, **values: object) -> str:
    """The text of `key` in `lang` with `values` filled in."""
    return MESSAGES[key][lang].format(**values)
