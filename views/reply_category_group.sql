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
