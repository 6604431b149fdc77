"""Account 9894 open items: matching by reference, by amount, oldest first; ageing; the year-over-year count."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import InvoicePosting, PostingKind
from servicepulse.streams.finance.rules import SUSPENSE_AGED
from servicepulse.streams.finance.suspense import (
    aged_alerts,
    aged_findings,
    open_items,
    working_days_between,
    year_over_year,
)

_n = iter(range(1_000_000))


def line(account: str, ore: int, day: date, series: str, number: str, text: str = "", company: str = "1040",
         ) -> InvoicePosting:
    return InvoicePosting(event_id=f"e{next(_n)}", kind=PostingKind.ledger_posting, company=company,
                          account=account, amount_ore=ore, posting_date=day, voucher_series=series,
                          voucher_number=number, text=text, recorded_at=datetime(2026, 3, 12, tzinfo=UTC))


D1, D2, D3 = date(2026, 2, 26), date(2026, 3, 5), date(2026, 3, 12)


def openings() -> list[InvoicePosting]:
    return [
        line("9894", -1_500_000, D1, "B", "9001"), line("9894", -64_000, D2, "B", "9006"),
        line("9894", -48_750, D3, "B", "9002"), line("9894", -30_000, D3, "B", "9003"),
        line("9894", -99_900, D3, "B", "9004"), line("9896", -120_000, D3, "B", "9005"),
        line("1930", 1_500_000, D1, "B", "9001"),  # the bank side is no suspense posting
    ]


def test_reference_amount_and_oldest_first_hand_computed() -> None:
    rebook = [
        line("9894", 48_750, D3, "M", "9101", "Omförd från ver B 9002"),  # by reference, full
        line("9894", 500_000, D3, "M", "9102", "Omförd från ver B 9001, del"),  # by reference, partial
        line("9894", 30_000, D3, "M", "9103", "Omförd, kunden ringde"),  # same amount as B 9003
        line("9894", 10_000, D3, "M", "9104", "Omförd"),  # no reference, no amount: oldest first (B 9001)
        line("9896", 120_000, D3, "M", "9105", "Omförd från ver b 9005"),  # series case does not matter
    ]
    items = open_items(openings() + rebook)
    assert [(i.company, i.account, i.voucher_series, i.voucher_number, i.open_ore, i.opened_on) for i in items] == [
        ("1040", "9894", "B", "9001", 990_000, D1),
        ("1040", "9894", "B", "9006", 64_000, D2),
        ("1040", "9894", "B", "9004", 99_900, D3),
    ]


def test_over_clearing_by_reference_flows_to_oldest_first() -> None:
    rebook = [line("9894", 60_000, D3, "M", "1", "Omförd från ver B 9003")]  # 30 000 too much
    items = {i.voucher_number: i.open_ore for i in open_items(openings() + rebook)}
    assert "9003" not in items and items["9001"] == 1_470_000


def test_same_amount_pairs_kth_with_kth_and_reference_to_unknown_voucher_clears_nothing() -> None:
    ps = [line("9894", -5000, D1, "B", "1"), line("9894", -5000, D2, "B", "2"), line("9894", -7000, D2, "B", "3"),
          line("9894", 5000, D3, "M", "1", "Omförd"),  # same amount: the oldest 5 000 item, B 1
          line("9894", 5000, D3, "M", "2", "Omförd från ver B 77")]  # B 77 is not here: clears nothing
    assert [(i.voucher_number, i.open_ore) for i in open_items(ps)] == [("2", 5000), ("3", 7000)]


def test_companies_and_accounts_are_kept_apart_and_replays_change_nothing() -> None:
    ps = [line("9894", -5000, D1, "B", "1", company="1010"), line("9894", 5000, D2, "M", "1", company="1020"),
          line("9896", 5000, D2, "M", "2", company="1010")]
    assert [(i.company, i.open_ore) for i in open_items(ps)] == [("1010", 5000)]
    assert open_items(ps + ps) == open_items(ps)  # the same events twice (a replay) count once


def test_working_days_skip_weekends_and_swedish_holidays() -> None:
    assert working_days_between(date(2026, 3, 12), date(2026, 3, 12)) == 0
    assert working_days_between(date(2026, 3, 13), date(2026, 3, 16)) == 1  # Friday -> Monday
    # 2026-04-02 Thursday -> 2026-04-07 Tuesday: Good Friday and Easter Monday are holidays.
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    # Midsummer eve 2026-06-19 is a de-facto holiday.
    assert working_days_between(date(2026, 6, 18), date(2026, 6, 22)) == 1


def test_aged_and_large_items_are_flagged_once_with_stable_ids() -> None:
    rule = SUSPENSE_AGED.with_values(max_working_days=10, max_open_ore=1_000_000)
    items = open_items(openings())
    found = aged_findings(items, rule, today=date(2026, 3, 13))
    # B 9001 (1 500 000 öre, 11 working days since 26 Feb) is both old and large; the rest are young and small.
    assert [(f.subject_id, json.loads(f.evidence_json)["reasons"]) for f in found] == [
        ("1040:B 9001", ["age", "amount"])
    ]
    again = aged_findings(items, rule, today=date(2026, 3, 13))
    assert [f.finding_id for f in again] == [f.finding_id for f in found]
    assert found[0].rule_id == "gl.suspense_aged"
    # A day earlier it is 10 working days old: not yet over the age limit, only over the amount limit.
    earlier = aged_findings(items, rule, today=date(2026, 3, 12))
    assert [json.loads(f.evidence_json)["reasons"] for f in earlier] == [["amount"]]


def test_aged_items_raise_once_and_resolve_once() -> None:
    end = datetime(2026, 3, 14, tzinfo=STOCKHOLM)  # the reviewed window ends the day after the newest posting
    rule = SUSPENSE_AGED.with_values(max_working_days=10, max_open_ore=5_000_000)
    found = aged_findings(open_items(openings()), rule, today=date(2026, 3, 13))
    assert [f.subject_id for f in found] == ["1040:B 9001"]
    raised = aged_alerts(found, set(), rule, at=end)
    assert [(a.alert_key, a.state.value, a.measured_value, a.target) for a in raised] == [
        ("gl.suspense_aged:1040:B 9001", "raised", 11.0, 10.0)]
    assert aged_alerts(found, {raised[0].alert_key}, rule, at=end) == []  # still open: nothing new
    cleared = open_items([*openings(), line("9894", 1_500_000, D3, "M", "1", "Omförd från ver B 9001")])
    resolved = aged_alerts(aged_findings(cleared, rule, date(2026, 3, 13)), {raised[0].alert_key}, rule, at=end)
    assert [(a.alert_key, a.state.value) for a in resolved] == [("gl.suspense_aged:1040:B 9001", "resolved")]
    assert resolved[0].alert_id != raised[0].alert_id
    # Event time only: the raise occurs on the day the item passed 10 working days, whenever it is reviewed.
    assert raised[0].occurred_at == datetime(2026, 3, 13, tzinfo=STOCKHOLM)
    assert aged_alerts(found, set(), rule, at=end + timedelta(days=30)) == raised
    assert resolved[0].occurred_at == end
    assert aged_alerts([], {raised[0].alert_key}, rule, at=end)[0].alert_id == resolved[0].alert_id  # replay: same id


def test_no_aged_finding_on_young_small_items() -> None:
    rule = SUSPENSE_AGED.with_values(max_working_days=10, max_open_ore=5_000_000)
    assert aged_findings(open_items(openings()), rule, today=date(2026, 3, 12)) == []


def test_year_over_year_against_the_goal() -> None:
    ps = [line("9894", -100, date(2025, 5, 1), "B", str(i)) for i in range(100)]
    ps += [line("9894", -100, date(2026, 5, 1), "B", str(i)) for i in range(97)]
    ps += [line("9894", -100, date(2026, 5, 1), "B", "0")]  # a second line of an already counted voucher
    ps += [line("9894", -100, date(2026, 5, 1), "B", str(i), company="1010") for i in range(5)]
    rows = {(r.company, r.year): r for r in year_over_year(ps)}
    assert rows[("1040", 2026)].postings == 97 and rows[("1040", 2026)].previous == 100
    assert rows[("1040", 2026)].change == -0.03 and rows[("1040", 2026)].on_target is True
    assert rows[("1040", 2025)].on_target is None and rows[("1010", 2026)].previous is None
