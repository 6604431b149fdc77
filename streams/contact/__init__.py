"""Contact centre SLA: service level windows, working-time clocks and the alerts on them."""
