"""Payroll controls: deviation rules over a closed run, reproducible samples (stickprov), protected identity."""
