import { getIntrospectionQuery } from "graphql";
import { describe, expect, it } from "vitest";
import { startApi } from "../support/api.js";

const api = await startApi();
const closed = await startApi({ graphql: { introspection: false } });

function expectRejected(
  res: { status: number; body: { errors?: { message: string }[]; data?: unknown } },
  pattern: RegExp,
) {
  expect(res.status).toBe(400);
  expect(res.body.data).toBeUndefined();
  expect(res.body.errors?.map((e) => e.message).join("\n")).toMatch(pattern);
}

describe("GraphQL limits and errors", () => {
  it("rejects a depth bomb", async () => {
    let q = "asOf";
    for (let i = 0; i < 12; i++) q = `campaign { abTests { ${q} } }`;
    expectRejected(await api.graphql(`{ abTests { ${q} } }`), /depth/i);
  });

  it("rejects an alias bomb", async () => {
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: overview { asOf }`).join(" ");
    expectRejected(await api.graphql(`{ ${aliases} }`), /alias/i);
  });

  it("rejects a cost bomb within the depth and alias limits", async () => {
    const perf = `performance(period: "90d") { asOf totals { funnel { sent delivered replied } rates { replyRate } } series { start kpis { funnel { sent delivered replied opened clicked } rates { replyRate openRate } revenue { currency amount } } } }`;
    const aliases = Array.from(
      { length: 12 },
      (_, i) =>
        `c${i}: campaigns(first: 100) { nodes { ${perf} abTests { results { variants { variant replyRate significance { pValue } } } campaign { ${perf} } } } }`,
    ).join(" ");
    expectRejected(await api.graphql(`{ ${aliases} }`), /cost/i);
  });

  it("rejects a document with too many tokens", async () => {
    const fields = Array.from({ length: 2100 }, () => "asOf").join(" ");
    expectRejected(await api.graphql(`{ overview { ${fields} } }`), /more th[ae][nt] 2000 tokens/i);
  });

  it("answers a representative dashboard query well inside the limits", async () => {
    const res =
      await api.graphql(`{ overview(period: "30d", granularity: WEEK) { asOf outreach { funnel { sent } rates { replyRate } } outreachSeries { start kpis { funnel { sent } } } }
      campaigns(first: 20) { totalCount nodes { id name performance(period: "30d") { totals { funnel { sent replied } rates { replyRate meetingBookingRate } revenue { amount currency } } } } }
      modelLeaderboard(taskType: "website_analysis") { entries { modelName avgQuality } } }`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  it("needs an analytics:read key: none → 401, another scope → 403, as problem+json", async () => {
    const none = await api.graphql("{ abTests { id } }", undefined, null);
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toMatch(/application\/problem\+json/);
    const wrong = await api.graphql("{ abTests { id } }", undefined, await api.keyWith("ingest"));
    expect(wrong.status).toBe(403);
    expect(wrong.body.required_scope).toBe("analytics:read");
  });

  it("answers bad input with a clear BAD_USER_INPUT or validation error, never a 500", async () => {
    const cases: [string, RegExp][] = [
      ['{ overview(timeZone: "Mars/Base") { asOf } }', /time zone/i],
      ['{ overview(period: "30") { asOf } }', /Period/],
      ['{ overview(from: "2026-02-30", to: "2026-03-01") { asOf } }', /Date/],
      [
        '{ overview(period: "7d", from: "2026-01-01", to: "2026-01-02") { asOf } }',
        /either period or from\/to/,
      ],
      ['{ overview(from: "2026-03-01", to: "2026-02-01") { asOf } }', /after/],
      ['{ modelLeaderboard(taskType: "DROP TABLE") { asOf } }', /taskType/],
      ["{ campaigns(first: 1000) { totalCount } }", /first/],
      ['{ campaigns(after: "bm9wZQ") { totalCount } }', /cursor/],
      ["{ overview { nope } }", /Cannot query field/],
      ["{ overview ", /Syntax Error/],
    ];
    for (const [query, message] of cases) {
      const res = await api.graphql(query);
      expect(res.status, query).toBeLessThan(500);
      expect(res.body.errors?.[0]?.message, query).toMatch(message);
      expect([
        "BAD_USER_INPUT",
        "GRAPHQL_VALIDATION_FAILED",
        "GRAPHQL_PARSE_FAILED",
        "BAD_REQUEST",
      ]).toContain(res.body.errors?.[0]?.extensions?.code);
      expect(JSON.stringify(res.body), query).not.toMatch(/stacktrace|at \S+\.ts:\d+/);
    }
  });

  it("introspection is on in development; off (with no field suggestions) when configured so", async () => {
    expect((await api.graphql(getIntrospectionQuery())).body.errors).toBeUndefined();
    const res = await closed.graphql(getIntrospectionQuery());
    expect(res.status).toBe(400);
    expect(res.body.errors[0].message).toMatch(/introspection/i);
    const typo = await closed.graphql("{ overveiw { asOf } }");
    expect(typo.body.errors[0].message).not.toMatch(/did you mean/i);
    const open = await api.graphql("{ overveiw { asOf } }");
    expect(open.body.errors[0].message).toMatch(/did you mean/i);
  });
});
