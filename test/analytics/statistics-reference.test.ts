import { describe, expect, it } from "vitest";
import { normalCdf, twoProportionZTest, wilsonInterval } from "../../src/analytics/statistics.js";

/**
 * Reference values from outside this code base (R 4.x, `prop.test(..., correct = FALSE)`, which reports the
 * Wilson score interval and the pooled two-proportion χ² = z² test), so a wrong formula fails here rather than
 * only a positive "it returns something" check.
 */
describe("statistics against reference values", () => {
  it("Wilson interval: 8 of 10 is [0.4902, 0.9433] (prop.test(8, 10, correct = FALSE))", () => {
    const ci = wilsonInterval(0.8, 10);
    expect(ci?.low).toBeCloseTo(0.4901625, 5);
    expect(ci?.high).toBeCloseTo(0.9433178, 5);
  });

  it("Wilson interval: 0 of 10 is [0, z²/(n + z²)] = [0, 0.2775], not the normal approximation's [0, 0]", () => {
    const ci = wilsonInterval(0, 10);
    expect(ci?.low).toBe(0);
    expect(ci?.high).toBeCloseTo(0.2775328, 5);
  });

  it("Wilson interval: 1 of 1000 keeps a positive lower bound and is asymmetric", () => {
    const ci = wilsonInterval(0.001, 1000);
    expect(ci?.low).toBeCloseTo(0.0001765, 6);
    expect(ci?.high).toBeCloseTo(0.0056426, 6);
  });

  it("Wilson interval: no trials has no interval", () => {
    expect(wilsonInterval(null, 0)).toBeNull();
    expect(wilsonInterval(0.5, 0)).toBeNull();
  });

  it("normal CDF at the 95% quantiles and at 0", () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1.959963984540054)).toBeCloseTo(0.025, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(3)).toBeCloseTo(0.9986501, 6);
  });

  it("two-proportion z-test: 120/1000 vs 100/1000 gives χ² = 2.0429, p = 0.1529 (not significant)", () => {
    const t = twoProportionZTest(120, 1000, 100, 1000);
    expect(t?.z).toBeCloseTo(1.429297, 4);
    expect((t?.z ?? 0) ** 2).toBeCloseTo(2.0429, 3);
    expect(t?.pValue).toBeCloseTo(0.1529, 3);
    expect(t?.significant).toBe(false);
  });

  it("two-proportion z-test: 150/1000 vs 100/1000 gives χ² = 11.429, p = 0.00072 (significant), and the sign follows the order", () => {
    const t = twoProportionZTest(150, 1000, 100, 1000);
    expect((t?.z ?? 0) ** 2).toBeCloseTo(11.4286, 3);
    expect(t?.pValue).toBeCloseTo(0.000723, 5);
    expect(t?.significant).toBe(true);
    expect(twoProportionZTest(100, 1000, 150, 1000)?.z).toBeCloseTo(-(t?.z ?? 0), 10);
  });

  it("two-proportion z-test: significance is at the α asked for", () => {
    // p = 0.1529: significant at α = 0.2, not at 0.05.
    expect(twoProportionZTest(120, 1000, 100, 1000, 0.2)?.significant).toBe(true);
  });

  it("two-proportion z-test: no variance or no trials is no test", () => {
    expect(twoProportionZTest(0, 100, 0, 100)).toBeNull();
    expect(twoProportionZTest(100, 100, 100, 100)).toBeNull();
    expect(twoProportionZTest(1, 0, 1, 10)).toBeNull();
  });
});
