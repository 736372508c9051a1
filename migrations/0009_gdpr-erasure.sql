-- Up Migration
-- GDPR right to erasure (spec §5: "cascade delete lead data & associated assets while retaining anonymized
-- metrics"). Meetings and deals are the metrics behind meeting-booking rate and revenue per campaign, so they must
-- outlive an erased lead: their lead_id becomes nullable (NULL = the lead was erased). Catalog-only change.
ALTER TABLE meetings ALTER COLUMN lead_id DROP NOT NULL;
ALTER TABLE deals ALTER COLUMN lead_id DROP NOT NULL;

-- Down Migration
-- Fails if erased leads left anonymous meetings or deals behind; delete those rows first to revert.
ALTER TABLE deals ALTER COLUMN lead_id SET NOT NULL;
ALTER TABLE meetings ALTER COLUMN lead_id SET NOT NULL;
