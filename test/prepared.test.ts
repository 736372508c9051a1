import { describe, expect, it } from "vitest";
import { MAX_NAMED_STATEMENTS, prepared } from "../src/db/prepared.js";

describe("prepared (named analytics statements)", () => {
  it("names a text after itself: the same text the same name, another text another", () => {
    const a = prepared("SELECT $1::int AS a", [1]);
    expect(a).toEqual({ name: expect.stringMatching(/^rg_/), text: "SELECT $1::int AS a", values: [1] });
    expect(prepared("SELECT $1::int AS a", [2]).name).toBe(a.name);
    expect(prepared("SELECT $1::int AS b", [1]).name).not.toBe(a.name);
  });

  it(`names at most ${MAX_NAMED_STATEMENTS} texts; past that a new text runs unnamed, the named ones keep theirs`, () => {
    const first = prepared("SELECT 'first'", []).name;
    for (let i = 0; prepared(`SELECT ${i}`, []).name !== undefined; i++)
      expect(i).toBeLessThan(MAX_NAMED_STATEMENTS);
    expect(prepared("SELECT 'one more'", [])).toEqual({ text: "SELECT 'one more'", values: [] });
    expect(prepared("SELECT 'first'", []).name).toBe(first);
  });
});
