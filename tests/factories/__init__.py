"""Shared test builders and harnesses: test modules import from here, never from one another (or a conftest)."""
