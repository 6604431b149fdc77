"""The report's words in Swedish (default) and English: one catalogue, one set of templates."""

from __future__ import annotations

__all__ = ["LANGUAGES", "MESSAGES", "message", "name"]

LANGUAGES = ("sv", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "title": {"sv": "Uppföljning av serviceavtal", "en": "Service agreement follow-up"},
    "tertial": {"sv": "Tertial", "en": "Four-month period"},
    "month": {"sv": "Månad", "en": "Month"},
    "period": {"sv": "Period", "en": "Period"},
    "customer": {"sv": "Kund", "en": "Customer"},
    "all_customers": {"sv": "alla kunder", "en": "all customers"},
    "customer_scope": {
        "sv": "Kundurvalet gäller klagomål, ärenden, 9894 och kontrollfynd; kontaktcenter, e-post, "
              "produktivitet och datakvalitet gäller hela förvaltningen.",
        "en": "The customer filter applies to complaints, cases, 9894 and control findings; contact centre, "
              "e-mail, productivity and data quality cover the whole administration.",
    },
    "generated": {"sv": "Framtagen", "en": "Produced"},
    "no_data": {"sv": "ingen data", "en": "no data"},
    "summary": {"sv": "Mål och utfall", "en": "Targets and results"},
    "summary_note": {
        "sv": "Grönt: målet nått. Gult: missat med högst {margin}. Rött: missat. Grått: ingen data i perioden.",
        "en": "Green: target met. Yellow: missed by at most {margin}. Red: missed. Grey: no data in the period.",
    },
    "mon.01": {"sv": "jan", "en": "Jan"},
    "mon.02": {"sv": "feb", "en": "Feb"},
    "mon.03": {"sv": "mar", "en": "Mar"},
    "mon.04": {"sv": "apr", "en": "Apr"},
    "mon.05": {"sv": "maj", "en": "May"},
    "mon.06": {"sv": "jun", "en": "Jun"},
    "mon.07": {"sv": "jul", "en": "Jul"},
    "mon.08": {"sv": "aug", "en": "Aug"},
    "mon.09": {"sv": "sep", "en": "Sep"},
    "mon.10": {"sv": "okt", "en": "Oct"},
    "mon.11": {"sv": "nov", "en": "Nov"},
    "mon.12": {"sv": "dec", "en": "Dec"},
    "case.new_hire": {"sv": "nyanställning", "en": "new hire"},
    "case.personal_data_update": {"sv": "ändrade personuppgifter", "en": "personal data update"},
    "case.name_change": {"sv": "namn- eller personnummerbyte", "en": "name or personnummer change"},
    "case.employer_certificate": {"sv": "arbetsgivarintyg till a-kassa", "en": "employer certificate"},
    "case.urgent_girovision": {"sv": "akututbetalning via Girovision", "en": "urgent payment via Girovision"},
    "case.urgent_agresso": {"sv": "akututbetalning via Agresso", "en": "urgent payment via Agresso"},
    "sev.info": {"sv": "info", "en": "info"},
    "sev.low": {"sv": "låg", "en": "low"},
    "sev.medium": {"sv": "medel", "en": "medium"},
    "sev.high": {"sv": "hög", "en": "high"},
    "sev.critical": {"sv": "kritisk", "en": "critical"},
    "pp": {"sv": "procentenheter", "en": "percentage points"},
    "area": {"sv": "Område", "en": "Area"},
    "measure": {"sv": "Mått", "en": "Measure"},
    "result": {"sv": "Utfall", "en": "Result"},
    "target": {"sv": "Mål", "en": "Target"},
    "status": {"sv": "Status", "en": "Status"},
    "trend": {"sv": "Per månad", "en": "Per month"},
    "basis": {"sv": "Underlag", "en": "Based on"},
    "light.green": {"sv": "nått", "en": "met"},
    "light.yellow": {"sv": "nära", "en": "close"},
    "light.red": {"sv": "missat", "en": "missed"},
    "light.none": {"sv": "ingen data", "en": "no data"},
    "area.contact": {"sv": "Kontaktcenter", "en": "Contact centre"},
    "area.email": {"sv": "E-post", "en": "E-mail"},
    "area.cases": {"sv": "Ärenden", "en": "Cases"},
    "area.complaints": {"sv": "Klagomål", "en": "Complaints"},
    "area.productivity": {"sv": "Produktivitet", "en": "Productivity"},
    "area.finance": {"sv": "Ekonomi", "en": "Finance"},
    "m.service_level": {"sv": "Servicenivå (besvarade inom {threshold} s)",
        "en": "Service level (answered within {threshold} s)"},
    "m.service_level_short": {"sv": "Servicenivå", "en": "Service level"},
    "m.fcr": {"sv": "Lösta vid första kontakt", "en": "Resolved at first contact"},
    "m.email_within_deadline": {"sv": "E-post besvarad inom {days} arbetsdag",
        "en": "E-mail answered within {days} working day"},
    "m.case_lead_time": {"sv": "Ärenden klara inom dag 1–{days}", "en": "Cases done within day 1–{days}"},
    "m.complaint_ack": {"sv": "Återkoppling inom {hours} kontorstimmar", "en": "Feedback within {hours} office hours"},
    "m.payslips_per_fte": {"sv": "Lönespecifikationer per årsarbetare och månad", "en": "Payslips per FTE and month"},
    "m.supplier_invoices_per_fte": {"sv": "Leverantörsfakturor per årsarbetare och månad",
        "en": "Supplier invoices per FTE and month"},
    "m.customer_invoices_per_fte": {"sv": "Kundfakturor per årsarbetare och månad",
        "en": "Customer invoices per FTE and month"},
    "m.suspense_change": {"sv": "Poster på konto 9894 mot samma period i fjol",
        "en": "Postings on account 9894 against the same period last year"},
    "s.contact": {"sv": "Kontaktcenter per svarsgrupp", "en": "Contact centre per answer group"},
    "queue": {"sv": "Svarsgrupp", "en": "Answer group"},
    "offered": {"sv": "Erbjudna", "en": "Offered"},
    "answered": {"sv": "Besvarade", "en": "Answered"},
    "asa": {"sv": "Snittid till svar", "en": "Average speed of answer"},
    "abandonment": {"sv": "Avbrutna", "en": "Abandoned"},
    "s.email": {"sv": "E-post till funktionsbrevlådor", "en": "E-mail to function mailboxes"},
    "received": {"sv": "Inkomna", "en": "Received"},
    "in_time": {"sv": "I tid", "en": "In time"},
    "share_in_time": {"sv": "Andel i tid", "en": "Share in time"},
    "mean_office_hours": {"sv": "Snitt kontorstimmar till svar", "en": "Mean office hours to answer"},
    "s.cases": {"sv": "Ärendens ledtider", "en": "Case lead times"},
    "case_type": {"sv": "Ärendetyp", "en": "Case type"},
    "limit": {"sv": "Gräns", "en": "Limit"},
    "limit_days": {"sv": "dag 1–{days}", "en": "day 1–{days}"},
    "opened": {"sv": "Öppnade", "en": "Opened"},
    "closed": {"sv": "Avslutade", "en": "Closed"},
    "open_overdue": {"sv": "Öppna, försenade", "en": "Open, overdue"},
    "s.complaints": {"sv": "Klagomål och synpunkter per kund och process",
        "en": "Complaints and opinions per customer and process"},
    "process": {"sv": "Process", "en": "Process"},
    "registered": {"sv": "Registrerade", "en": "Registered"},
    "acknowledged": {"sv": "Återkopplade", "en": "Acknowledged"},
    "ack_in_time": {"sv": "Återkopplade i tid", "en": "Acknowledged in time"},
    "backlog": {"sv": "Öppna vid periodens slut", "en": "Open at the end of the period"},
    "backlog_trend": {"sv": "Öppna klagomål vid månadens slut", "en": "Open complaints at the end of each month"},
    "open": {"sv": "Öppna", "en": "Open"},
    "s.productivity": {"sv": "Produktivitet per årsarbetare", "en": "Productivity per full-time employee"},
    "kind": {"sv": "Slag", "en": "Kind"},
    "kind.payslips": {"sv": "Lönespecifikationer", "en": "Payslips"},
    "kind.supplier_invoice": {"sv": "Leverantörsfakturor", "en": "Supplier invoices"},
    "kind.customer_invoice": {"sv": "Kundfakturor", "en": "Customer invoices"},
    "volume": {"sv": "Antal", "en": "Volume"},
    "fte": {"sv": "Årsarbetare", "en": "FTE"},
    "per_fte": {"sv": "Per årsarbetare", "en": "Per FTE"},
    "s.suspense": {"sv": "Konto 9894: oidentifierade inbetalningar", "en": "Account 9894: unidentified payments"},
    "company": {"sv": "Företag", "en": "Company"},
    "postings": {"sv": "Poster i perioden", "en": "Postings in the period"},
    "previous_year": {"sv": "Samma period i fjol", "en": "Same period last year"},
    "change": {"sv": "Förändring", "en": "Change"},
    "open_items": {"sv": "Öppna poster {date}", "en": "Open items on {date}"},
    "open_amount": {"sv": "Öppet belopp", "en": "Open amount"},
    "max_age": {"sv": "Äldsta (arbetsdagar)", "en": "Oldest (working days)"},
    "mean_age": {"sv": "Snittålder (arbetsdagar)", "en": "Mean age (working days)"},
    "aged": {"sv": "Äldre än {days} arbetsdagar", "en": "Older than {days} working days"},
    "s.controls": {"sv": "Internkontroll", "en": "Internal control"},
    "rule": {"sv": "Regel", "en": "Rule"},
    "severity": {"sv": "Allvarlighet", "en": "Severity"},
    "findings": {"sv": "Kontrollfynd", "en": "Findings"},
    "samples": {"sv": "Stickprov ur huvudlönekörningar", "en": "Samples from main payroll runs"},
    "method": {"sv": "Metod", "en": "Method"},
    "sample_count": {"sv": "Stickprov", "en": "Samples"},
    "runs": {"sv": "Körningar", "en": "Runs"},
    "documents": {"sv": "Dokument", "en": "Documents"},
    "s.data_quality": {"sv": "Datakvalitet: avvisad indata", "en": "Data quality: rejected input"},
    "source": {"sv": "Källa", "en": "Source"},
    "dead_letters": {"sv": "Avvisade", "en": "Rejected"},
    "none_in_period": {"sv": "Inget i perioden.", "en": "Nothing in the period."},
    "total": {"sv": "Totalt", "en": "Total"},
    "not_measured": {"sv": "Mål som pipelinen inte mäter", "en": "Targets the pipeline does not measure"},
    "not_measured_list": {
        "sv": "Nöjda medborgare (90 %), pensionsärenden per handläggare och år (1 000), korrekta löneunderlag "
              "senast den 8:e, återkoppling samma dag på ekonomins telefonärenden, inga anstånds- och "
              "avbetalningsärenden till inkasso, färre poster på fellistor.",
        "en": "Citizens satisfied (90 %), pension cases per officer and year (1,000), correct pay documents by the "
              "8th, same-day feedback on finance telephony cases, no deferral or instalment cases reaching debt "
              "collection, fewer postings on error lists.",
    },
    "footer": {
        "sv": "Siffrorna läses ur samma ClickHouse-vyer som instrumentpanelerna och internkontrollen. "
              "Rapporten innehåller bara summerade uppgifter, inga personuppgifter.",
        "en": "The figures are read from the same ClickHouse views as the dashboards and internal control. "
              "The report holds aggregates only, no personal data.",
    },
}


def name(kind: str, code: str, lang: str) -> str:
    """A code (case type, severity) in words when the catalogue has them, else the code itself."""
    entry = MESSAGES.get(f"{kind}.{code}")
    return entry[lang] if entry else code


def message(key: str, lang: str, **values: object) -> str:
    """The text of `key` in `lang`, with `{name}` placeholders filled in."""
    text = MESSAGES[key][lang]
    return text.format(**values) if values else text
