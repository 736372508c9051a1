import { NotFoundError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * The admin's levers on retention (spec §8; the policy is src/compliance/retention-policy.ts): keep an asset out of
 * archiving as a case study, and extend how long a lead is kept. Erased leads and their assets are not found.
 */
export type AssetKind = "demo_site" | "video";

const ASSET_TABLES: Record<AssetKind, { table: string; resource: string }> = {
  demo_site: { table: "demo_sites", resource: "Demo site" },
  video: { table: "videos", resource: "Video" },
};

export type CaseStudyRow = {
  id: string;
  lead_id: string | null;
  is_case_study: boolean;
  status: string | null;
  archived_at: Date | null;
};

/**
 * Flags (or unflags) a demo site or video as a case study: retention never archives a flagged asset. An asset
 * already archived stays archived (its file was moved); unflagged, an old asset is archived by the next run.
 */
export async function setCaseStudy(
  uow: UnitOfWork,
  kind: AssetKind,
  id: string,
  isCaseStudy: boolean,
): Promise<CaseStudyRow> {
  const { table, resource } = ASSET_TABLES[kind];
  const { rows } = await uow.tx.query<CaseStudyRow & { was: boolean }>(
    `UPDATE ${table} x SET is_case_study = $2
       FROM ${table} old
      WHERE x.id = $1 AND old.id = x.id
        AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x.lead_id AND l.erased_at IS NOT NULL)
      RETURNING x.id, x.lead_id, x.is_case_study, x.status, x.archived_at, old.is_case_study AS was`,
    [id, isCaseStudy],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError(resource, id);
  uow.audit({
    action: `${kind}.case_study_${isCaseStudy ? "set" : "cleared"}`,
    resourceType: kind,
    resourceId: id,
    details: { is_case_study: isCaseStudy, previous: row.was },
  });
  const { was: _was, ...asset } = row;
  return asset;
}

export type LeadRetentionRow = { id: string; retention_extended_until: Date };

/**
 * Keeps a lead at least until `until` (a future time; the route refuses a past one): retention erases an idle lead
 * only once both its idle period and this date have passed. Replaces an earlier extension. Not activity: the
 * lead's updated_at stays.
 */
export async function extendLeadRetention(
  uow: UnitOfWork,
  leadId: string,
  until: Date,
): Promise<LeadRetentionRow> {
  const { rows } = await uow.tx.query<LeadRetentionRow & { previous: Date | null }>(
    `UPDATE leads l SET retention_extended_until = $2::timestamp
       FROM leads old
      WHERE l.id = $1 AND old.id = l.id AND l.erased_at IS NULL
      RETURNING l.id, l.retention_extended_until, old.retention_extended_until AS previous`,
    [leadId, until.toISOString()],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("Lead", leadId);
  uow.audit({
    action: "lead.retention_extended",
    resourceType: "lead",
    resourceId: leadId,
    details: {
      extended_until: row.retention_extended_until.toISOString(),
      previous: row.previous ? row.previous.toISOString() : null,
    },
  });
  return { id: row.id, retention_extended_until: row.retention_extended_until };
}
