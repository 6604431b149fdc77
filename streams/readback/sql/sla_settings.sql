-- Office hours and the complaint acknowledgement limit: the same table the SLA views read.
SELECT opens_minute, closes_minute, ack_office_hours
FROM sla_settings FINAL
ORDER BY updated_at DESC
LIMIT 1
