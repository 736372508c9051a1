-- Won deals per campaign × 15-minute UTC bucket of won_at × currency (spec §9: revenue per campaign). Amounts are
-- never converted between currencies: there is no exchange-rate source, so revenue is reported per currency.
-- Declared as campaign_kpis_15m.sql is: kept per campaign; a deal marks the day it was won.
CALL rollup_define(
    name => 'campaign_revenue_15m',
    columns => 'campaign_id UUID NOT NULL, bucket TIMESTAMP NOT NULL, currency CHAR(3) NOT NULL,
                deals_won INTEGER NOT NULL, revenue NUMERIC NOT NULL',
    primary_key => 'campaign_id, bucket, currency',
    bucket => 'bucket',
    bucket_seconds => 900,
    key_column => 'campaign_id',
    marks => '{deals.won_at}',
    open_bucket_index => true,
    aggregate => $$
SELECT campaign_id, date_bin('15 minutes', won_at, TIMESTAMP '2000-01-01'), currency, count(*)::int, sum(amount)
  FROM deals
 WHERE status = 'won' AND campaign_id IS NOT NULL AND won_at >= lo AND won_at < hi
   AND (keys IS NULL OR campaign_id = ANY (keys))
 GROUP BY campaign_id, 2, currency
$$);
