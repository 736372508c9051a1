import type pg from "pg";

/** How many of the latest AI-GYM rows of a task type the estimate looks at. */
export const MEDIAN_SAMPLE_SIZE = 200;

/**
 * The median `duration_seconds` of the most recent AI-GYM rows of one task type as of `asOf`, or null when there
 * are none. The median rather than the mean so one stuck job does not push every estimate out. Rows after `asOf`
 * are ignored: the estimate is what was known at the request's clock.
 */
export async function getMedianTaskDuration(
  db: pg.Pool | pg.ClientBase,
  taskType: string,
  asOf: Date,
  sampleSize: number = MEDIAN_SAMPLE_SIZE,
): Promise<number | null> {
  const { rows } = await db.query<{ median: number | null }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY recent.duration_seconds)::float8 AS median
       FROM (SELECT duration_seconds
               FROM ai_gym_performance
              WHERE task_type = $1 AND duration_seconds IS NOT NULL AND created_at <= $2
              ORDER BY created_at DESC
              LIMIT $3) AS recent`,
    [taskType, asOf.toISOString(), sampleSize],
  );
  return rows[0]?.median ?? null;
}
