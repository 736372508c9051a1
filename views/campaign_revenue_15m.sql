-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
CREATE MATERIALIZED VIEW campaign_revenue_15m AS
SELECT campaign_id,
       date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01') AS bucket,
       currency,
       count(*)::int AS deals_won,
       sum(amount) AS revenue
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at IS NOT NULL
 GROUP BY campaign_id, 2, currency;
CREATE UNIQUE INDEX campaign_revenue_15m_key ON campaign_revenue_15m (campaign_id, bucket, currency);
CREATE INDEX campaign_revenue_15m_bucket_idx ON campaign_revenue_15m (bucket);
