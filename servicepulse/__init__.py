"""servicepulse: stream processing for a municipal shared-service administration."""
