-- Service-agreement targets that no single rule owns (productivity per FTE, the yearly 9894 goal). Never typed
-- in here: `migrate` writes the rows from servicepulse/domain/parameters.toml (and an operator's override file),
-- so the views, the dashboards, the tertial report and `servicepulse rules` show the same values.
CREATE TABLE IF NOT EXISTS business_targets
(
    name        String,
    value       Float64,
    unit        String,
    description String,
    source      String
)
ENGINE = ReplacingMergeTree
ORDER BY name;
