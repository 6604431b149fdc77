"""Waiting for payroll run checks to be queryable: the check row, then the findings it announced, through Kafka."""

from __future__ import annotations

from servicepulse.streams.readback.payroll_checks import check_status
from tests.factories.pipeline import Pipeline

__all__ = ["run_findings_stored", "wait_for_run_findings"]


def run_findings_stored(pipeline: Pipeline) -> bool:
    """True once every closed run stored is checked and every finding its check announced is stored.

    The worker writes `payroll_run_checks` (with how many findings it found) before it sends those findings to
    Kafka, and the sink process stores them from there: the check row alone says nothing about the findings.
    A run's findings carry its run_id in their evidence; the urgent-payment finding (one per customer and period,
    the same id from every urgent run's check) carries none, so it is counted on its own."""
    closed = pipeline.scalar("SELECT uniqExact(run_id) FROM payroll_runs FINAL WHERE status = 'closed'")
    checks = pipeline.rows("SELECT run_id, kind, max(findings) FROM payroll_run_checks GROUP BY run_id, kind")
    if len({run for run, _, _ in checks}) < closed:
        return False
    client = pipeline.client()
    # A run's own findings: the product's definition (`controls score --wait` waits on it too).
    if not all(check_status(client, run)[2] >= n for run, kind, n in checks if kind != "urgent"):
        return False
    urgent = pipeline.scalar("SELECT count() FROM findings FINAL WHERE rule_id = 'payroll.urgent_payment'")
    return bool(urgent >= max((n for _, kind, n in checks if kind == "urgent"), default=0))


def wait_for_run_findings(pipeline: Pipeline, timeout: float = 120) -> None:
    pipeline.wait_for(lambda: run_findings_stored(pipeline), timeout=timeout,
                      what="every closed payroll run checked and the findings of its check stored")
