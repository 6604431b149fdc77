-- Service-agreement targets no rule owns (productivity per FTE, the yearly 9894 goal).
SELECT name, value FROM business_targets FINAL ORDER BY name
