import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  AbDesign,
  AbSplitRatio,
  AbVariants,
  assignmentPoint,
  assignVariant,
} from "../src/domain/ab-assignment.js";

const variants = [
  { id: "A", subject: "Subject A" },
  { id: "B", subject: "Subject B" },
];

describe("assignVariant", () => {
  it("gives a lead the same variant every time and matches an independent computation", () => {
    const testId = "4f0c7a5e-2d7b-4c55-9d0e-3f7a1b2c3d4e";
    const leadId = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
    const first = assignVariant(testId, leadId, variants, { A: 0.5, B: 0.5 });
    for (let i = 0; i < 5; i++)
      expect(assignVariant(testId, leadId, variants, { A: 0.5, B: 0.5 })).toBe(first);
    const point = assignmentPoint(testId, leadId);
    expect(point).toBeGreaterThanOrEqual(0);
    expect(point).toBeLessThan(1);
    expect(first.id).toBe(point < 0.5 ? "A" : "B");
  });

  it("never picks a variant with ratio 0 and follows the split over many leads", () => {
    const testId = randomUUID();
    const leads = Array.from({ length: 4000 }, () => randomUUID());
    expect(new Set(leads.map((l) => assignVariant(testId, l, variants, { A: 0, B: 1 }).id))).toEqual(
      new Set(["B"]),
    );
    const a = leads.filter((l) => assignVariant(testId, l, variants, { A: 0.2, B: 0.8 }).id === "A").length;
    // 4000 draws at p = 0.2: mean 800, sd ≈ 25; ±150 is six standard deviations.
    expect(a).toBeGreaterThan(650);
    expect(a).toBeLessThan(950);
  });

  it("assigns differently for different tests (the test id is part of the hash)", () => {
    const lead = randomUUID();
    const points = new Set(Array.from({ length: 20 }, () => assignmentPoint(randomUUID(), lead)));
    expect(points.size).toBe(20);
  });
});

describe("AbVariants / AbSplitRatio / AbDesign", () => {
  it("accepts a valid design", () => {
    expect(AbDesign.safeParse({ variants, split_ratio: { A: 0.3, B: 0.7 } }).success).toBe(true);
    expect(AbSplitRatio.safeParse({ A: 0.1, B: 0.2, C: 0.7 }).success).toBe(true);
  });

  it("refuses ratios outside [0, 1], sums other than 1, duplicate keys and splits that do not match", () => {
    expect(AbSplitRatio.safeParse({ A: 1.5, B: -0.5 }).success).toBe(false);
    expect(AbSplitRatio.safeParse({ A: 0.5, B: 0.49 }).success).toBe(false);
    expect(AbVariants.safeParse([variants[0], variants[0]]).success).toBe(false);
    expect(AbVariants.safeParse([variants[0]]).success).toBe(false);
    const mismatch = AbDesign.safeParse({ variants, split_ratio: { A: 0.5, C: 0.5 } });
    expect(mismatch.success).toBe(false);
    expect(mismatch.error?.issues[0]?.message).toBe("no ratio for B; ratio for unknown variant C");
  });
});
