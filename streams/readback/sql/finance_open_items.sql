-- The open items of the suspense accounts.
SELECT company, account, voucher_series, voucher_number, opened_on, original_ore, amount_ore, event_ids
FROM v_suspense_open_items
