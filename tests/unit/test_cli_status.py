"""`servicepulse status`'s consumer progress: both groups per partition, and per topic the sink's lag (what is not
yet queryable) beside the workers'."""

from __future__ import annotations

from servicepulse.cli.query import progress_rows
from servicepulse.connectors.kafka import GroupProgress


def test_each_partition_shows_both_groups_and_each_topic_their_sums() -> None:
    workers = [GroupProgress("calls", 0, 40, 50), GroupProgress("calls", 1, 10, 10),
               GroupProgress("postings", 0, 7, 9)]
    sink = [GroupProgress("calls", 0, 20, 50), GroupProgress("calls", 1, 4, 10), GroupProgress("postings", 0, 9, 9)]
    partitions, totals = progress_rows(workers, sink)
    assert partitions == [["calls", 0, 50, 40, 10, 20, 30], ["calls", 1, 10, 10, 0, 4, 6],
                          ["postings", 0, 9, 7, 2, 9, 0]]
    assert totals == [["calls", 2, 60, 10, 36], ["postings", 1, 9, 2, 0]]


def test_a_partition_with_messages_and_nothing_committed_makes_the_topics_lag_unknown() -> None:
    # The workers do not read call events at all (only the sink does); an empty partition lags by nothing.
    workers = [GroupProgress("calls", 0, None, 50), GroupProgress("calls", 1, None, 0)]
    sink = [GroupProgress("calls", 0, 45, 50), GroupProgress("calls", 1, None, 0)]
    partitions, totals = progress_rows(workers, sink)
    assert [r[4] for r in partitions] == [None, None] and [r[6] for r in partitions] == [5, None]
    assert totals == [["calls", 2, 50, None, 5]]
    _, unread = progress_rows(workers, [GroupProgress("calls", 0, None, 50), GroupProgress("calls", 1, None, 0)])
    assert unread == [["calls", 2, 50, None, None]]


def test_a_partition_the_sink_group_does_not_report_is_shown_as_unknown() -> None:
    partitions, totals = progress_rows([GroupProgress("calls", 0, 3, 3)], [])
    assert partitions == [["calls", 0, 3, 3, 0, None, None]] and totals == [["calls", 1, 3, 0, None]]
