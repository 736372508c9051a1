-- Up Migration
-- Sequence steps, the demo/video an email carried (by id, not by URL text), and where demo_style / video_script
-- A/B tests are exposed (issue 13 parts 2, 4 and 5).
--
-- Locks: ADD COLUMN on the partitioned email_sends (and on demo_sites, videos) takes an ACCESS EXCLUSIVE lock on
-- the parent and every partition for the length of this transaction; the constant DEFAULT keeps it a catalog-only
-- change, but the one-time backfills below rewrite the rows they touch (and fire the rollup mark triggers), so run
-- it in a quiet moment. Re-running is safe: a failed run rolls back as a whole, and the backfills only fill values
-- that are still at their defaults.
--
-- Backfill rules (one-time; new rows get these from the domain, src/domain/email-sends.ts queueEmails):
--   * sequence_step: a lead's emails in a campaign numbered 1, 2, … by created_at (ties by id). Rows without a
--     campaign or a lead stay step 1.
--   * demo_site_id / video_id: the lead's own demo_sites row whose deployment_url equals the email's demo_url (the
--     newest when several match), the lead's own videos row whose video_url equals the email's video_url. An URL
--     that matches no row of that lead stays unlinked (NULL); URL text is never compared again after this.
ALTER TABLE email_sends
    ADD COLUMN sequence_step SMALLINT NOT NULL DEFAULT 1 CHECK (sequence_step >= 1),
    ADD COLUMN demo_site_id UUID REFERENCES demo_sites(id),
    ADD COLUMN video_id UUID REFERENCES videos(id);
CREATE INDEX email_sends_demo_site_id_idx ON email_sends (demo_site_id) WHERE demo_site_id IS NOT NULL;
CREATE INDEX email_sends_video_id_idx ON email_sends (video_id) WHERE video_id IS NOT NULL;

-- The A/B test and variant a demo or video was produced under (set when it is queued).
ALTER TABLE demo_sites
    ADD COLUMN ab_test_id UUID REFERENCES ab_tests(id),
    ADD COLUMN ab_variant VARCHAR(50);
CREATE INDEX demo_sites_ab_test_id_idx ON demo_sites (ab_test_id, ab_variant) WHERE ab_test_id IS NOT NULL;
ALTER TABLE videos
    ADD COLUMN ab_test_id UUID REFERENCES ab_tests(id),
    ADD COLUMN ab_variant VARCHAR(50);
CREATE INDEX videos_ab_test_id_idx ON videos (ab_test_id, ab_variant) WHERE ab_test_id IS NOT NULL;

UPDATE email_sends e
   SET sequence_step = LEAST(s.step, 32767)
  FROM (SELECT id, created_at,
               row_number() OVER (PARTITION BY campaign_id, lead_id ORDER BY created_at, id) AS step
          FROM email_sends
         WHERE campaign_id IS NOT NULL AND lead_id IS NOT NULL) s
 WHERE e.id = s.id AND e.created_at = s.created_at AND s.step > 1 AND e.sequence_step = 1;

UPDATE email_sends e
   SET demo_site_id = (SELECT d.id FROM demo_sites d
                        WHERE d.lead_id = e.lead_id AND d.deployment_url = e.demo_url
                        ORDER BY d.created_at DESC NULLS LAST, d.id DESC LIMIT 1)
 WHERE e.demo_url IS NOT NULL AND e.demo_site_id IS NULL AND e.lead_id IS NOT NULL;

UPDATE email_sends e
   SET video_id = (SELECT v.id FROM videos v
                    WHERE v.lead_id = e.lead_id AND v.video_url = e.video_url
                    ORDER BY v.created_at DESC NULLS LAST, v.id DESC LIMIT 1)
 WHERE e.video_url IS NOT NULL AND e.video_id IS NULL AND e.lead_id IS NOT NULL;

-- Down Migration
ALTER TABLE videos
    DROP COLUMN ab_variant,
    DROP COLUMN ab_test_id;
ALTER TABLE demo_sites
    DROP COLUMN ab_variant,
    DROP COLUMN ab_test_id;
ALTER TABLE email_sends
    DROP COLUMN video_id,
    DROP COLUMN demo_site_id,
    DROP COLUMN sequence_step;
