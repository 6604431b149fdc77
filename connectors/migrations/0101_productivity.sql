-- Productivity per full-time employee: a staffing table loaded from CSV
-- (connectors/ingest/staffing_csv.py) and views dividing monthly volumes by FTE. Targets (seeds 000-002: payslips per payroll administrator, supplier
-- and customer invoices per FTE and month) come from `business_targets` (servicepulse/domain/parameters.toml).

CREATE TABLE IF NOT EXISTS staffing_fte
(
    month     String,
    unit      LowCardinality(String),
    role      LowCardinality(String),
    fte       Decimal(9, 2),
    source    String,
    loaded_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(loaded_at)
ORDER BY (month, unit, role)
SETTINGS non_replicated_deduplication_window = 1000;

-- Payslips = employees paid in a main run of the period (one payslip per employee and run).
CREATE VIEW IF NOT EXISTS v_productivity_payslips AS
SELECT p.month AS month, p.payslips AS payslips, s.fte AS fte,
       if(s.fte = 0, NULL, p.payslips / toFloat64(s.fte)) AS payslips_per_fte, t.target AS target
FROM (
    SELECT r.period AS month, uniqExact(l.run_id, l.employee_id) AS payslips
    FROM (SELECT * FROM payroll_lines FINAL) AS l
    INNER JOIN (SELECT DISTINCT run_id, period FROM payroll_runs FINAL WHERE kind = 'main') AS r
        ON r.run_id = l.run_id
    GROUP BY month
) AS p
LEFT JOIN (SELECT month, sum(fte) AS fte FROM staffing_fte FINAL WHERE role = 'payroll_administrator'
           GROUP BY month) AS s ON s.month = p.month
CROSS JOIN (SELECT any(value) AS target FROM business_targets FINAL WHERE name = 'payslips_per_fte') AS t;

CREATE VIEW IF NOT EXISTS v_productivity_invoices AS
SELECT i.month AS month, i.kind AS kind, i.invoices AS invoices, s.fte AS fte,
       if(s.fte = 0, NULL, i.invoices / toFloat64(s.fte)) AS invoices_per_fte,
       if(i.kind = 'supplier_invoice', t.supplier, t.customer) AS target
FROM (
    SELECT formatDateTime(posting_date, '%Y-%m') AS month, kind, uniqExact(event_id) AS invoices
    FROM invoice_postings FINAL
    WHERE kind IN ('supplier_invoice', 'customer_invoice')
    GROUP BY month, kind
) AS i
LEFT JOIN (SELECT month, role, sum(fte) AS fte FROM staffing_fte FINAL
           WHERE role IN ('supplier_invoices', 'customer_invoices') GROUP BY month, role) AS s
    ON s.month = i.month AND s.role = if(i.kind = 'supplier_invoice', 'supplier_invoices', 'customer_invoices')
CROSS JOIN (SELECT anyIf(value, name = 'supplier_invoices_per_fte') AS supplier,
                   anyIf(value, name = 'customer_invoices_per_fte') AS customer
            FROM business_targets FINAL) AS t;
