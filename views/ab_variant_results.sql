-- A/B results per test × variant over the test's lifetime. exposures = delivered emails carrying the variant; the
-- outcome counts follow email_send_outcomes (meetings: first touch, so an exposed lead's booking counts once).
CREATE MATERIALIZED VIEW ab_variant_results AS
SELECT ab_test_id,
       ab_variant AS variant,
       count(*) FILTER (WHERE sent)::int AS sent,
       count(*) FILTER (WHERE delivered)::int AS exposures,
       count(*) FILTER (WHERE opened)::int AS opens,
       count(*) FILTER (WHERE clicked)::int AS clicks,
       count(*) FILTER (WHERE replied)::int AS replies,
       count(*) FILTER (WHERE positive_reply)::int AS positive_replies,
       count(*) FILTER (WHERE meeting_booked)::int AS meetings
  FROM email_send_outcomes
 WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL
 GROUP BY ab_test_id, ab_variant;
CREATE UNIQUE INDEX ab_variant_results_key ON ab_variant_results (ab_test_id, variant);
