/** Small, exact-as-documented statistics for the read side. */

/** numerator / denominator, or null when the denominator is 0 (never NaN, never a made-up 0). */
export function rate(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/**
 * Wilson score interval for a proportion p̂ over n trials at 95% (Wilson 1927). Null for n = 0. Better than the
 * normal approximation for small n and for p̂ near 0 or 1, which is where leaderboards with few samples live.
 */
export function wilsonInterval(
  pHat: number | null,
  n: number,
  z = Z_95,
): { low: number; high: number } | null {
  if (n <= 0 || pHat === null) return null;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (pHat + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((pHat * (1 - pHat)) / n + z2 / (4 * n * n))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Standard normal CDF via erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x / Math.SQRT2));
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-((x / Math.SQRT2) ** 2));
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export type TwoProportionTest = { z: number; pValue: number; significant: boolean };

/**
 * Two-sided pooled two-proportion z-test of H0: p1 = p2 (successes x over trials n), significant at α = 0.05.
 * Null when either group has no trials or the pooled proportion is 0 or 1 (no variance to test against).
 */
export function twoProportionZTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  alpha = 0.05,
): TwoProportionTest | null {
  if (n1 === 0 || n2 === 0) return null;
  const pooled = (x1 + x2) / (n1 + n2);
  if (pooled === 0 || pooled === 1) return null;
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const z = (x1 / n1 - x2 / n2) / se;
  const pValue = Math.min(1, 2 * (1 - normalCdf(Math.abs(z))));
  return { z, pValue, significant: pValue < alpha };
}
