-- Rows of the run stored so far, without FINAL: a cheap upper bound of its distinct lines (a line stored
-- twice counts twice until merged) on the table's leading key, so the wait polls it and confirms with
-- payroll_stored_lines.sql (exact, FINAL) only once it reaches the header's line_count.
SELECT count()
FROM payroll_lines
WHERE run_id = {run_id:String} AND customer = {customer:String}
