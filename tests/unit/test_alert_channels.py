"""Alert channel filters: a misspelt rule filter is named before it can keep a team's alerts off its channel."""

from __future__ import annotations

import pytest

from servicepulse.config import AlertChannel
from servicepulse.streams.readback.alert_delivery import unmatched_rule_filters


def test_a_filter_that_matches_no_rule_is_named() -> None:
    from servicepulse.streams.catalogue import catalogue

    ids = [rule.rule_id for rule in catalogue()]
    channels = [AlertChannel(name="lon", url="http://x/", rules=["payroll.", "payrol.negative_net", "gl.suspense"]),
                AlertChannel(name="kc", url="http://x/", rules=["contact.service_level"])]
    assert unmatched_rule_filters(channels, ids) == {"lon": ["payrol.negative_net", "gl.suspense"]}
    with pytest.raises(ValueError, match="rules"):
        AlertChannel(name="x", url="http://x/", rules=["Payroll "])
    assert AlertChannel(name="x", url="http://x/", min_severity="medium").severities() == [
        "medium", "high", "critical"]
