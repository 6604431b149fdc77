-- Alert digests: which alert ids went out in which digest on each channel. Every row of `alert_deliveries` that
-- belongs to a digest carries its id, the Stockholm day it was made on and its company/organisation; all the
-- rows of one digest are written in one insert (assigned: pending with the attempts so far, then each outcome),
-- so a restart or a new leader finds every alert either in a digest (posted again with the same id until
-- delivered or rejected) or in none (still waiting). Rows from before digests have an empty digest_id.
ALTER TABLE alert_deliveries ADD COLUMN IF NOT EXISTS digest_id String DEFAULT '';
ALTER TABLE alert_deliveries ADD COLUMN IF NOT EXISTS digest_day Nullable(Date);
ALTER TABLE alert_deliveries ADD COLUMN IF NOT EXISTS digest_scope String DEFAULT '';
ALTER TABLE alert_deliveries ADD COLUMN IF NOT EXISTS digest_at Nullable(DateTime64(3, 'UTC'))
