-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
-- Kept per UTC day of sent_at (ab_variant_daily_*; parts as in campaign_kpis_15m.sql, keyed by A/B test id) so
-- that a refresh only recounts the tests and days that changed; ab_variant_results sums the days.
CREATE FUNCTION ab_variant_daily_between(lo timestamp, hi timestamp, keys uuid[])
RETURNS TABLE (ab_test_id uuid, variant varchar, day date, sent integer, exposures integer, opens integer,
               clicks integer, replies integer, positive_replies integer, meetings integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT ab_test_id, ab_variant, sent_at::date, count(*)::int, count(*) FILTER (WHERE delivered)::int,
       count(*) FILTER (WHERE opened)::int, count(*) FILTER (WHERE clicked)::int,
       count(*) FILTER (WHERE replied)::int, count(*) FILTER (WHERE positive_reply)::int,
       count(*) FILTER (WHERE meeting_booked)::int
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL AND sent AND sent_at >= lo AND sent_at < hi
   AND (keys IS NULL OR ab_test_id = ANY (keys))
 GROUP BY ab_test_id, ab_variant, sent_at::date
$$;
CREATE TABLE ab_variant_daily_closed (
    ab_test_id UUID NOT NULL,
    variant VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    sent INTEGER NOT NULL,
    exposures INTEGER NOT NULL,
    opens INTEGER NOT NULL,
    clicks INTEGER NOT NULL,
    replies INTEGER NOT NULL,
    positive_replies INTEGER NOT NULL,
    meetings INTEGER NOT NULL,
    PRIMARY KEY (ab_test_id, variant, day)
);
CREATE INDEX ab_variant_daily_closed_day_idx ON ab_variant_daily_closed (day);
CREATE MATERIALIZED VIEW ab_variant_daily_open AS
SELECT f.ab_test_id, f.variant::varchar(50) AS variant, f.day, f.sent, f.exposures, f.opens, f.clicks, f.replies,
       f.positive_replies, f.meetings
  FROM rollup_horizon h CROSS JOIN LATERAL ab_variant_daily_between(h.horizon, 'infinity', NULL) AS f;
CREATE UNIQUE INDEX ab_variant_daily_open_key ON ab_variant_daily_open (ab_test_id, variant, day);
CREATE VIEW ab_variant_results AS
SELECT ab_test_id, variant, sum(sent)::int AS sent, sum(exposures)::int AS exposures, sum(opens)::int AS opens,
       sum(clicks)::int AS clicks, sum(replies)::int AS replies, sum(positive_replies)::int AS positive_replies,
       sum(meetings)::int AS meetings
  FROM (SELECT * FROM ab_variant_daily_closed UNION ALL SELECT * FROM ab_variant_daily_open) AS days
 GROUP BY ab_test_id, variant;
