-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
-- Kept per UTC day of sent_at (the parts are ab_variant_daily_*, keyed by A/B test id; declared as
-- campaign_kpis_15m.sql is) so that a refresh only recounts the tests and days that changed; ab_variant_results,
-- the reader, sums the days.
CALL rollup_define(
    name => 'ab_variant_results',
    parts => 'ab_variant_daily',
    columns => 'ab_test_id UUID NOT NULL, variant VARCHAR(50) NOT NULL, day DATE NOT NULL, sent INTEGER NOT NULL,
                exposures INTEGER NOT NULL, opens INTEGER NOT NULL, clicks INTEGER NOT NULL,
                replies INTEGER NOT NULL, positive_replies INTEGER NOT NULL, meetings INTEGER NOT NULL',
    primary_key => 'ab_test_id, variant, day',
    bucket => 'day',
    key_column => 'ab_test_id',
    marks => '{email_send_outcomes.sent_at}',
    reader => $$
SELECT ab_test_id, variant, sum(sent)::int AS sent, sum(exposures)::int AS exposures, sum(opens)::int AS opens,
       sum(clicks)::int AS clicks, sum(replies)::int AS replies, sum(positive_replies)::int AS positive_replies,
       sum(meetings)::int AS meetings
  FROM %s
 GROUP BY ab_test_id, variant
$$,
    aggregate => $$
SELECT ab_test_id, ab_variant, sent_at::date, count(*)::int, count(*) FILTER (WHERE delivered)::int,
       count(*) FILTER (WHERE opened)::int, count(*) FILTER (WHERE clicked)::int,
       count(*) FILTER (WHERE replied)::int, count(*) FILTER (WHERE positive_reply)::int,
       count(*) FILTER (WHERE meeting_booked)::int
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL AND sent AND sent_at >= lo AND sent_at < hi
   AND (keys IS NULL OR ab_test_id = ANY (keys))
 GROUP BY ab_test_id, ab_variant, sent_at::date
$$);
