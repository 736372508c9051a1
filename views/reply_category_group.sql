-- Groups of the taxonomy:
--   positive  = interested, meeting_request (the lead wants to talk)
--   neutral   = information_request, not_now, wrong_person, uncategorized (a human answered, no decision yet)
--   negative  = not_interested, unsubscribe
--   automatic = out_of_office, auto_reply, bounce (no human answered: not a reply in the reply rate)
-- NULL (and any unknown text) gives NULL.
CREATE FUNCTION reply_category_group(category text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN CASE
        WHEN category IN ('interested', 'meeting_request') THEN 'positive'
        WHEN category IN ('information_request', 'not_now', 'wrong_person', 'uncategorized') THEN 'neutral'
        WHEN category IN ('not_interested', 'unsubscribe') THEN 'negative'
        WHEN category IN ('out_of_office', 'auto_reply', 'bounce') THEN 'automatic'
    END;

-- The documented mapping from the spec's sentiment label to a category (migration 0021): the backfill, and the
-- category of an inbound message written without one.
CREATE FUNCTION reply_category_of_sentiment(sentiment text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN CASE lower(sentiment)
        WHEN 'positive' THEN 'interested'
        WHEN 'interested' THEN 'interested'
        WHEN 'meeting_request' THEN 'meeting_request'
        WHEN 'negative' THEN 'not_interested'
        WHEN 'not_interested' THEN 'not_interested'
        WHEN 'objection' THEN 'not_now'
        WHEN 'not_now' THEN 'not_now'
        WHEN 'out_of_office' THEN 'out_of_office'
        WHEN 'auto_reply' THEN 'auto_reply'
        WHEN 'bounce' THEN 'bounce'
        WHEN 'unsubscribe' THEN 'unsubscribe'
        ELSE 'uncategorized'
    END;
