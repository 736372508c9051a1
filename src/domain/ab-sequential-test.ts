/**
 * The always-valid sequential test that decides A/B tests (issue 13 part 5): a mixture sequential probability ratio
 * test (mSPRT; Johari, Koomen, Pekelis & Walsh, "Always Valid Inference", 2017/2022) for the difference of two
 * proportions, with Holm's step-down correction when several treatments are compared with one control. Pure
 * functions only: src/domain/ab-evaluation.ts feeds them the counts from the database and stores what they return.
 *
 * For a treatment t against the control c, with n trials and x successes each:
 *
 *   θ̂ = x_t/n_t − x_c/n_c                      (the effect: difference in rate)
 *   V  = p̂_t(1−p̂_t)/n_t + p̂_c(1−p̂_c)/n_c      (its variance, plug-in)
 *   Λ  = √(V/(V+τ²)) · exp(τ²θ̂² / (2V(V+τ²)))  (likelihood ratio of H1: θ ~ N(0, τ²) mixed, against H0: θ = 0)
 *
 * Λ is an e-value: under H0 it is (asymptotically) a non-negative martingale with mean 1, so by Ville's inequality
 * P(Λ ever reaches 1/α) ≤ α however often one looks. The always-valid p-value is p = min over looks of 1/Λ (never
 * increases), and the always-valid (1−α) interval is the running intersection over looks of
 *   θ̂ ± √( 2V(V+τ²)/τ² · (ln(1/α) + ½·ln((V+τ²)/V)) ).
 * Only looks at which both arms have at least the minimum sample count: before that the normal approximation is
 * poor and an early fluke would stay in the running minimum for good.
 */

/** Trials and successes of one arm (one variant) on the test's metric. */
export type ArmCounts = { n: number; successes: number };

export type DecisionRule = {
  /** Family-wise error rate over the treatment-vs-control comparisons. */
  alpha: number;
  /** Trials every variant needs before a look counts. */
  minSamplePerVariant: number;
  /** τ², the variance of the normal mixing distribution of the effect θ under H1. */
  mixingVariance: number;
};

/** Defaults of migration 0022: α 5 %, 200 trials per variant, τ = 0.05 (effects of about five rate points). */
export const DEFAULT_DECISION_RULE: DecisionRule = {
  alpha: 0.05,
  minSamplePerVariant: 200,
  mixingVariance: 0.0025,
};

/** What one comparison carries from look to look: the running p-value and interval. */
export type RunningEvidence = { p_value: number; interval_low: number | null; interval_high: number | null };

export type MsprtLook = {
  effect: number | null;
  /** Λ at this look (1 when there is nothing to weigh yet). */
  e_value: number;
  /** min(previous p, 1/Λ), in (0, 1]. */
  p_value: number;
  interval_low: number | null;
  interval_high: number | null;
};

function rateOf(a: ArmCounts): number | null {
  return a.n > 0 ? a.successes / a.n : null;
}

/** ln Λ for an effect θ̂ with variance V under mixing variance τ². */
function logLikelihoodRatio(effect: number, variance: number, tau2: number): number {
  return (
    0.5 * Math.log(variance / (variance + tau2)) +
    (tau2 * effect * effect) / (2 * variance * (variance + tau2))
  );
}

/**
 * One look of the mSPRT. `counted` = false (the minimum sample is not met) reports the effect but leaves the running
 * p-value and interval as they were.
 */
export function msprtLook(
  treatment: ArmCounts,
  control: ArmCounts,
  tau2: number,
  alpha: number,
  previous: RunningEvidence | null,
  counted = true,
): MsprtLook {
  const prevP = previous?.p_value ?? 1;
  const rt = rateOf(treatment);
  const rc = rateOf(control);
  if (rt === null || rc === null) {
    return { effect: null, e_value: 1, p_value: prevP, interval_low: null, interval_high: null };
  }
  const effect = rt - rc;
  const variance = (rt * (1 - rt)) / treatment.n + (rc * (1 - rc)) / control.n;
  const carried = {
    interval_low: previous?.interval_low ?? null,
    interval_high: previous?.interval_high ?? null,
  };
  // No variance (both arms all-success or all-failure): nothing to weigh; Λ = 1 is what the limit V→0 of no
  // evidence means here, and it keeps a degenerate look from rejecting.
  if (!counted || variance <= 0) return { effect, e_value: 1, p_value: prevP, ...carried };
  const logLambda = logLikelihoodRatio(effect, variance, tau2);
  const pValue = Math.min(prevP, Math.min(1, Math.exp(-logLambda)));
  const half = Math.sqrt(
    ((2 * variance * (variance + tau2)) / tau2) *
      (Math.log(1 / alpha) + 0.5 * Math.log((variance + tau2) / variance)),
  );
  let low = Math.max(-1, effect - half, carried.interval_low ?? -1);
  let high = Math.min(1, effect + half, carried.interval_high ?? 1);
  // An empty running intersection is an event of probability ≤ α (or a drifting rate); show this look's interval
  // rather than an impossible one.
  if (low > high) {
    low = Math.max(-1, effect - half);
    high = Math.min(1, effect + half);
  }
  return { effect, e_value: Math.exp(logLambda), p_value: pValue, interval_low: low, interval_high: high };
}

/**
 * Holm's step-down procedure: sort the m p-values ascending and reject the i-th smallest (i = 1…m) while
 * p ≤ α/(m − i + 1); stop at the first that is not. Controls the family-wise error rate at α for any dependence
 * between the p-values, and always-valid p-values stay valid at the data-dependent look at which it is applied.
 * Returns, per input, the threshold it was held to and whether it was rejected.
 */
export function holm(pValues: readonly number[], alpha: number): { threshold: number; rejected: boolean }[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p || a.i - b.i);
  const out = pValues.map(() => ({ threshold: alpha / m, rejected: false }));
  let stillRejecting = true;
  order.forEach(({ p, i }, rank) => {
    const threshold = alpha / (m - rank);
    const rejected = stillRejecting && p <= threshold;
    if (!rejected) stillRejecting = false;
    out[i] = { threshold, rejected };
  });
  return out;
}

/**
 * The per-arm sample at which the mSPRT would reach `threshold` if the observed rates held and both arms grew
 * equally: a projection for dashboards, not a promise. Null when no effect is observed.
 */
export function projectedSamplePerArm(
  treatment: ArmCounts,
  control: ArmCounts,
  tau2: number,
  threshold: number,
): number | null {
  const rt = rateOf(treatment);
  const rc = rateOf(control);
  if (rt === null || rc === null || rt === rc) return null;
  const spread = rt * (1 - rt) + rc * (1 - rc);
  if (spread <= 0) return null;
  const target = Math.log(1 / threshold);
  const reaches = (n: number) => logLikelihoodRatio(rt - rc, spread / n, tau2) >= target;
  let hi = 1;
  while (!reaches(hi)) {
    hi *= 2;
    if (hi > 2 ** 40) return null;
  }
  let lo = hi / 2;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (reaches(mid)) hi = mid;
    else lo = mid;
  }
  return Math.ceil(hi);
}

export type VariantSample = ArmCounts & { variant: string };

export type ComparisonEvidence = RunningEvidence & {
  variant: string;
  samples: number;
  successes: number;
  control_samples: number;
  control_successes: number;
  rate: number | null;
  control_rate: number | null;
  effect: number | null;
  e_value: number;
  /** Holm's threshold for this comparison at this look (α/m … α). */
  holm_threshold: number;
  /** Both arms have the minimum sample: this look counted. */
  eligible: boolean;
  significant: boolean;
  /** Projected trials per variant to reach holm_threshold at the observed rates (null: no effect observed). */
  projected_samples_needed: number | null;
};

export type DecisionState = "collecting" | "testing" | "decided";

export type Evaluation = {
  state: DecisionState;
  winner: string | null;
  /** Variants that get no new exposures: the ones that lost against the control, or everyone but the winner. */
  stopped: string[];
  control: string;
  comparisons: ComparisonEvidence[];
};

/**
 * One evaluation of a test: every treatment against the control (the first variant), the running always-valid
 * p-values corrected with Holm over all m = k − 1 comparisons. A treatment significantly worse than the control is
 * stopped; a treatment significantly better decides the test (the best observed rate among those that are); when
 * every treatment is stopped the control wins. Otherwise the test keeps collecting.
 */
export function evaluateSequentialTest(
  samples: readonly VariantSample[],
  rule: DecisionRule,
  previous: readonly ComparisonEvidence[] | null,
  alreadyStopped: readonly string[],
): Evaluation {
  const [control, ...treatments] = samples;
  if (!control || treatments.length === 0) throw new Error("a test needs a control and a treatment");
  const minMet = (a: ArmCounts) => a.n >= rule.minSamplePerVariant;
  const looks = treatments.map((t) => {
    const before = previous?.find((p) => p.variant === t.variant) ?? null;
    const eligible = minMet(t) && minMet(control);
    return { t, eligible, look: msprtLook(t, control, rule.mixingVariance, rule.alpha, before, eligible) };
  });
  const corrected = holm(
    looks.map((l) => l.look.p_value),
    rule.alpha,
  );
  const comparisons: ComparisonEvidence[] = looks.map(({ t, eligible, look }, i) => {
    const h = corrected[i] ?? { threshold: rule.alpha, rejected: false };
    return {
      variant: t.variant,
      samples: t.n,
      successes: t.successes,
      control_samples: control.n,
      control_successes: control.successes,
      rate: rateOf(t),
      control_rate: rateOf(control),
      effect: look.effect,
      e_value: look.e_value,
      p_value: look.p_value,
      interval_low: look.interval_low,
      interval_high: look.interval_high,
      holm_threshold: h.threshold,
      eligible,
      significant: h.rejected,
      projected_samples_needed: projectedSamplePerArm(t, control, rule.mixingVariance, h.threshold),
    };
  });

  const stopped = new Set(alreadyStopped);
  for (const c of comparisons) if (c.significant && (c.effect ?? 0) < 0) stopped.add(c.variant);
  const better = comparisons.filter((c) => c.significant && (c.effect ?? 0) > 0);
  const declared = samples.map((s) => s.variant);
  const everyoneBut = (winner: string) => declared.filter((v) => v !== winner);
  if (better.length > 0) {
    // The best observed rate among the significant winners; ties go to the earlier declared variant.
    const best = better.reduce((a, b) => ((b.rate ?? 0) > (a.rate ?? 0) ? b : a));
    return {
      state: "decided",
      winner: best.variant,
      stopped: everyoneBut(best.variant),
      control: control.variant,
      comparisons,
    };
  }
  if (treatments.every((t) => stopped.has(t.variant))) {
    return {
      state: "decided",
      winner: control.variant,
      stopped: everyoneBut(control.variant),
      control: control.variant,
      comparisons,
    };
  }
  return {
    state: samples.every(minMet) ? "testing" : "collecting",
    winner: null,
    stopped: declared.filter((v) => stopped.has(v)),
    control: control.variant,
    comparisons,
  };
}
