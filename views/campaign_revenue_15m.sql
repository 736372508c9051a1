-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi, campaign ids), _closed (before the horizon), _open (from it),
-- and the view.
CREATE FUNCTION campaign_revenue_15m_between(lo timestamp, hi timestamp, keys uuid[])
RETURNS TABLE (campaign_id uuid, bucket timestamp, currency character, deals_won integer, revenue numeric)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT campaign_id, date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01'), currency, count(*)::int, sum(amount)
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at >= lo AND won_at < hi
   AND (keys IS NULL OR campaign_id = ANY (keys))
 GROUP BY campaign_id, 2, currency
$$;
CREATE TABLE campaign_revenue_15m_closed (
    campaign_id UUID NOT NULL,
    bucket TIMESTAMP NOT NULL,
    currency CHAR(3) NOT NULL,
    deals_won INTEGER NOT NULL,
    revenue NUMERIC NOT NULL,
    PRIMARY KEY (campaign_id, bucket, currency)
);
CREATE INDEX campaign_revenue_15m_closed_bucket_idx ON campaign_revenue_15m_closed (bucket);
CREATE MATERIALIZED VIEW campaign_revenue_15m_open AS
SELECT f.campaign_id, f.bucket, f.currency::char(3) AS currency, f.deals_won, f.revenue
  FROM rollup_horizon h CROSS JOIN LATERAL campaign_revenue_15m_between(h.horizon, 'infinity', NULL) AS f;
CREATE UNIQUE INDEX campaign_revenue_15m_open_key ON campaign_revenue_15m_open (campaign_id, bucket, currency);
CREATE INDEX campaign_revenue_15m_open_bucket_idx ON campaign_revenue_15m_open (bucket);
CREATE VIEW campaign_revenue_15m AS
SELECT * FROM campaign_revenue_15m_closed
UNION ALL
SELECT * FROM campaign_revenue_15m_open;
