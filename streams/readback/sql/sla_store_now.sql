-- The store's wall clock (ms), the `now64(3)` event_clock.sql measures idleness against.
SELECT toUnixTimestamp64Milli(now64(3))
