"""Fault suite: poison, crashes and outages against a running pipeline; each test reports what it lost."""
