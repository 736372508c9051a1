import type pg from "pg";
import { prepared } from "../db/prepared.js";
import type { LeaderboardPeriod } from "./get-model-leaderboard.js";
import { rate, wilsonInterval } from "./statistics.js";

/**
 * Reply-classifier accuracy per model (README "Reply taxonomy"). Over the inbound messages sent in `[from, to)`
 * whose category a classifier model posted (`reply_category_model`):
 * - labelled: the messages it classified;
 * - reviewed: those a human has reviewed — a correction is recorded (`reply_category_corrected`), which may equal
 *   the model's label when the reviewer confirmed it;
 * - agreed: reviewed messages whose correction equals the model's label;
 * - accuracy = agreed / reviewed, with a Wilson 95% interval; unreviewed labels are not guessed at.
 * Per category (the model's label) the same counts, so a model that files every out-of-office as `interested`
 * shows where it goes wrong. Exact, from the base table of the replica.
 */
export type ClassifierCategoryRow = { category: string; labelled: number; reviewed: number; agreed: number };

export type ClassifierRow = {
  model_name: string;
  labelled: number;
  reviewed: number;
  agreed: number;
  mean_confidence: number | null;
  by_category: ClassifierCategoryRow[];
};

export type ClassifierAccuracy = ClassifierRow & {
  accuracy: number | null;
  accuracy_interval: { low: number; high: number } | null;
  below_min_samples: boolean;
};

const CLASSIFIERS_SQL = `
WITH labels AS (
  SELECT m.reply_category_model AS model_name, m.reply_category AS category, m.reply_category_confidence,
         (m.reply_category_corrected IS NOT NULL) AS reviewed,
         (m.reply_category_corrected = m.reply_category) AS agreed
    FROM conversation_messages m
   WHERE m.direction = 'inbound' AND m.reply_category_model IS NOT NULL
     AND m.sent_at >= $1 AND m.sent_at < $2
),
per_category AS (
  SELECT model_name, category, count(*)::int AS labelled, count(*) FILTER (WHERE reviewed)::int AS reviewed,
         count(*) FILTER (WHERE agreed)::int AS agreed
    FROM labels GROUP BY model_name, category
)
SELECT l.model_name, count(*)::int AS labelled, count(*) FILTER (WHERE l.reviewed)::int AS reviewed,
       count(*) FILTER (WHERE l.agreed)::int AS agreed, avg(l.reply_category_confidence)::float8 AS mean_confidence,
       (SELECT jsonb_agg(jsonb_build_object('category', p.category, 'labelled', p.labelled, 'reviewed', p.reviewed,
                                            'agreed', p.agreed) ORDER BY p.category)
          FROM per_category p WHERE p.model_name = l.model_name) AS by_category
  FROM labels l
 GROUP BY l.model_name
 ORDER BY l.model_name`;

/** Per classifier model over `period`; most accurate first (unreviewed models last), ties by name. */
export async function getReplyClassifiers(
  db: pg.Pool,
  q: { period: LeaderboardPeriod; minSamples: number },
): Promise<ClassifierAccuracy[]> {
  const { rows } = await db.query<ClassifierRow>(
    prepared(CLASSIFIERS_SQL, [q.period.from.toISOString(), q.period.to.toISOString()]),
  );
  return rows
    .map((r) => {
      const accuracy = rate(r.agreed, r.reviewed);
      return {
        ...r,
        accuracy,
        accuracy_interval: wilsonInterval(accuracy, r.reviewed),
        below_min_samples: r.reviewed < q.minSamples,
      };
    })
    .sort((a, b) => (b.accuracy ?? -1) - (a.accuracy ?? -1) || a.model_name.localeCompare(b.model_name));
}
