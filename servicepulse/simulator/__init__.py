"""Deterministic simulator of calls, invoice postings, payroll runs and complaints for demos, tests and benchmarks."""

from servicepulse.domain.calendar import STOCKHOLM, holiday_name, is_working_day, main_pay_date

from .engine import SimConfig, Simulator, event_time

__all__ = ["STOCKHOLM", "SimConfig", "Simulator", "event_time", "holiday_name", "is_working_day", "main_pay_date"]
