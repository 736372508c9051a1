import type pg from "pg";
import { prepared } from "../db/prepared.js";
import { ROLLUPS } from "./refresh-views.js";

/**
 * What the materialized views are current to: the oldest of their latest refreshes (every refresh covers all views
 * in one snapshot, so normally they agree). An answer built on the views reports this as `asOf` / `as_of`.
 */
export async function getViewsAsOf(db: pg.Pool): Promise<Date> {
  const { rows } = await db.query<{ as_of: Date | null }>(
    prepared(
      `SELECT CASE WHEN count(latest) = count(*) THEN min(latest) END AS as_of
       FROM (SELECT v.view_name,
                    (SELECT max(r.as_of) FROM view_refreshes r WHERE r.view_name = v.view_name) AS latest
               FROM unnest($1::text[]) AS v(view_name)) AS l`,
      [ROLLUPS],
    ),
  );
  const asOf = rows[0]?.as_of;
  // The migration that creates the views records their first fill, so this only happens on a damaged log.
  if (!asOf) throw new Error("view_refreshes has no refresh for some materialized view");
  return asOf;
}
