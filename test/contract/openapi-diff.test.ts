import { describe, expect, it } from "vitest";
import { type ContractChange, changeLine } from "../../src/contract/changes.js";
import { diffOpenApi } from "../../src/contract/openapi-diff.js";
import { type Doc, releasedOpenapiWithDates } from "./fixtures.js";

/**
 * The REST rule set, one guard per test: each test changes a copy of the released baseline the way a careless
 * commit would and asserts the level the check gives it.
 */
const BASELINE: Doc = releasedOpenapiWithDates();
const RELEASED = new Date("2026-12-02T00:00:00Z");
const NOW = new Date("2026-12-10T12:00:00Z");
const DAY = 86_400_000;

function diffWith(change: (doc: Doc) => void, options: { now?: Date; base?: (doc: Doc) => void } = {}) {
  const base = structuredClone(BASELINE);
  options.base?.(base);
  const current = structuredClone(base);
  change(current);
  return diffOpenApi(base, current, { now: options.now ?? NOW, baselineReleasedAt: RELEASED });
}

const lines = (changes: ContractChange[], level: ContractChange["level"]) =>
  changes
    .filter((c) => c.level === level)
    .map(changeLine)
    .sort();
const schemas = (doc: Doc) => doc.components.schemas;

describe("the released baseline against itself", () => {
  it("has no changes at all", () => {
    expect(diffWith(() => {})).toEqual([]);
  });
});

describe("removals are breaking", () => {
  it("a removed path: each of its operations", () => {
    const changes = diffWith((d) => delete d.paths["/api/v2/campaigns/{id}"]);
    expect(lines(changes, "breaking")).toEqual([
      "REST DELETE /api/v2/campaigns/{id}: removed (it was not deprecated)",
      "REST GET /api/v2/campaigns/{id}: removed (it was not deprecated)",
      "REST PATCH /api/v2/campaigns/{id}: removed (it was not deprecated)",
    ]);
  });

  it("a removed method", () => {
    const changes = diffWith((d) => delete d.paths["/api/v2/campaigns/{id}"].patch);
    expect(lines(changes, "breaking")).toEqual([
      "REST PATCH /api/v2/campaigns/{id}: removed (it was not deprecated)",
    ]);
  });

  it("a removed response status", () => {
    const changes = diffWith((d) => delete d.paths["/api/v2/leads/{id}"].get.responses["404"]);
    expect(lines(changes, "breaking")).toEqual(["REST GET /api/v2/leads/{id}: response 404 removed"]);
  });

  it("a removed response field", () => {
    const changes = diffWith((d) => {
      delete schemas(d).Campaign.properties.status;
      schemas(d).Campaign.required = schemas(d).Campaign.required.filter((f: string) => f !== "status");
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/Campaign /status: response field removed",
    ]);
  });

  it("a removed response header", () => {
    const changes = diffWith(
      (d) => delete d.paths["/api/v2/leads"].get.responses["200"].headers["RateLimit-Limit"],
    );
    expect(lines(changes, "breaking")).toEqual([
      "REST GET /api/v2/leads response 200: header RateLimit-Limit removed",
    ]);
  });

  it("a removed query parameter (unknown query parameters are refused)", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/leads"].get.parameters = d.paths["/api/v2/leads"].get.parameters.filter(
        (p: { name: string }) => p.name !== "status",
      );
    });
    expect(lines(changes, "breaking")).toEqual(['REST GET /api/v2/leads: query parameter "status" removed']);
  });

  it("a removed request field of a closed object (it would now be refused as unknown)", () => {
    const changes = diffWith((d) => delete schemas(d).UpdateCampaignBody.properties.daily_limit);
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /daily_limit: request field removed (now refused as unknown)",
    ]);
  });

  it("a removed response content type", () => {
    const changes = diffWith((d) => {
      const ok = d.paths["/api/v2/leads"].get.responses["200"];
      ok.content = { "text/csv": ok.content["application/json"] };
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST GET /api/v2/leads response 200: no longer answers application/json",
    ]);
    expect(lines(changes, "dangerous")).toEqual([
      "REST GET /api/v2/leads response 200: may now answer text/csv",
    ]);
  });
});

describe("new requirements are breaking", () => {
  it("a new required request-body field; an optional one is not", () => {
    const changes = diffWith((d) => {
      const body = schemas(d).CreateCampaignBody;
      body.properties.owner = { type: "string" };
      body.required.push("owner");
      body.properties.note = { type: "string" };
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/CreateCampaignBody /owner: new required request field",
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      "REST #/components/schemas/CreateCampaignBody /note: new optional request field",
    ]);
  });

  it("a new required query parameter; an optional one is not", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/leads"].get.parameters.push(
        { in: "query", name: "tenant", required: true, schema: { type: "string" } },
        { in: "query", name: "q", required: false, schema: { type: "string" } },
      );
    });
    expect(lines(changes, "breaking")).toEqual([
      'REST GET /api/v2/leads: new required query parameter "tenant"',
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      'REST GET /api/v2/leads: new optional query parameter "q"',
    ]);
  });

  it("an optional request field or parameter that becomes required", () => {
    const changes = diffWith((d) => {
      schemas(d).UpdateCampaignBody.required = ["name"];
      const limit = d.paths["/api/v2/leads"].get.parameters.find((p: { name: string }) => p.name === "limit");
      limit.required = true;
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /name: request field became required",
      'REST GET /api/v2/leads: query parameter "limit" became required',
    ]);
  });

  it("a new required request body where there was none", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/leads/{id}"].delete.requestBody = {
        required: true,
        content: { "application/json": { schema: { type: "object" } } },
      };
    });
    expect(lines(changes, "breaking")).toEqual(["REST DELETE /api/v2/leads/{id}: new required request body"]);
  });

  it("an optional request body that becomes required, or loses its media type", () => {
    const changes = diffWith(
      (d) => {
        const body = d.paths["/api/v2/analysis/{lead_id}"].post.requestBody;
        body.required = true;
        body.content = { "application/x-ndjson": body.content["application/json"] };
      },
      { base: (d) => (d.paths["/api/v2/analysis/{lead_id}"].post.requestBody.required = false) },
    );
    expect(lines(changes, "breaking")).toEqual([
      "REST POST /api/v2/analysis/{lead_id}: request body became required",
      "REST POST /api/v2/analysis/{lead_id}: request body no longer accepts application/json",
    ]);
  });

  it("a changed required scope", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/leads"].get["x-required-scope"] = "admin";
    });
    expect(lines(changes, "breaking")[0]).toMatch(
      /^REST GET \/api\/v2\/leads: required scope changed from .* to admin$/,
    );
  });

  it("a public operation that now requires a key", () => {
    const changes = diffWith((d) => {
      d.paths["/t/{token}/o.gif"].get.security = [{ bearerAuth: [] }];
    });
    expect(lines(changes, "breaking")).toEqual(["REST GET /t/{token}/o.gif: now requires authentication"]);
  });
});

describe("narrowed requests are breaking, widened responses breaking or dangerous", () => {
  it("a request field that becomes an enum is breaking", () => {
    const changes = diffWith((d) => {
      schemas(d).UpdateCampaignBody.properties.name.enum = ["spring", "autumn"];
    });
    expect(lines(changes, "breaking")).toEqual([
      'REST #/components/schemas/UpdateCampaignBody /name: request now only accepts "spring", "autumn"',
    ]);
  });

  it("a request enum that loses a value is breaking; one that gains a value is not", () => {
    const changes = diffWith((d) => {
      const status = schemas(d).UpdateCampaignBody.properties.status;
      status.enum = ["draft", "active", "archived", "completed"];
    });
    expect(lines(changes, "breaking")).toEqual([
      'REST #/components/schemas/UpdateCampaignBody /status: request no longer accepts "paused"',
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      'REST #/components/schemas/UpdateCampaignBody /status: request also accepts "completed"',
    ]);
  });

  it("a response enum that gains a value is dangerous; one that loses a value is not", () => {
    const changes = diffWith((d) => {
      schemas(d).Campaign.properties.status.anyOf[0].enum = [
        "draft",
        "active",
        "paused",
        "archived",
        "deleted",
      ];
    });
    expect(lines(changes, "dangerous")).toEqual([
      'REST #/components/schemas/Campaign /status: response may now be "deleted"',
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      'REST #/components/schemas/Campaign /status: response is no longer "completed"',
    ]);
    expect(lines(changes, "breaking")).toEqual([]);
  });

  it("a request type that changes is breaking; number → integer narrows too", () => {
    const changes = diffWith((d) => {
      schemas(d).UpdateCampaignBody.properties.name = { type: "integer" };
      schemas(d).UpdateCampaignBody.properties.daily_limit.type = "number";
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /name: no longer accepts string",
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /daily_limit: now also accepts number",
      "REST #/components/schemas/UpdateCampaignBody /name: now also accepts integer",
    ]);
    const narrowed = diffWith(
      (d) => {
        schemas(d).UpdateCampaignBody.properties.weight.type = "integer";
      },
      { base: (d) => (schemas(d).UpdateCampaignBody.properties.weight = { type: "number" }) },
    );
    expect(lines(narrowed, "breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /weight: no longer accepts number",
    ]);
  });

  it("a tighter request bound or a new pattern is breaking; a looser one is not", () => {
    const changes = diffWith((d) => {
      const name = schemas(d).UpdateCampaignBody.properties.name;
      name.maxLength = 100;
      name.minLength = 0;
      name.pattern = "^[a-z]+$";
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /name: request maxLength changed (255 → 100)",
      'REST #/components/schemas/UpdateCampaignBody /name: request pattern added (null → "^[a-z]+$")',
    ]);
    expect(lines(changes, "non-breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /name: request minLength changed (1 → 0)",
    ]);
  });

  it("a request object that stops accepting other fields is breaking", () => {
    const changes = diffWith((d) => {
      schemas(d).UpdateCampaignBody.properties.filters.additionalProperties = false;
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/UpdateCampaignBody /filters: request no longer accepts other fields",
    ]);
  });

  it("a required response field that becomes optional is breaking", () => {
    const changes = diffWith((d) => {
      schemas(d).Campaign.required = schemas(d).Campaign.required.filter((f: string) => f !== "name");
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/Campaign /name: response field may now be absent (it was required)",
    ]);
  });

  it("a response field that becomes nullable, or changes type, is breaking", () => {
    const changes = diffWith((d) => {
      schemas(d).Campaign.properties.source_types = {
        anyOf: [schemas(d).Campaign.properties.source_types, { type: "null" }],
      };
      schemas(d).Campaign.properties.id = { type: "integer" };
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST #/components/schemas/Campaign /id: response may now be integer",
      "REST #/components/schemas/Campaign /source_types: response may now be null",
    ]);
  });

  it("a looser response bound is dangerous", () => {
    const changes = diffWith((d) => {
      schemas(d).Campaign.properties.daily_limit.anyOf[0].maximum = 2 ** 60;
    });
    expect(lines(changes, "dangerous")).toEqual([
      `REST #/components/schemas/Campaign /daily_limit: response maximum changed (9007199254740991 → ${2 ** 60})`,
    ]);
  });

  it("a changed schema inside an array and behind an inline $ref is found", () => {
    const changes = diffWith((d) => {
      schemas(d).Campaign.properties.source_types.items = { type: "integer" };
      schemas(d).SendWindow.properties = {};
    });
    const breaking = lines(changes, "breaking");
    expect(breaking).toContain(
      "REST #/components/schemas/Campaign /source_types/[]: response may now be integer",
    );
    expect(breaking.some((l) => l.startsWith("REST #/components/schemas/SendWindow /"))).toBe(true);
  });
});

describe("additions pass", () => {
  it("new paths, methods, optional inputs, response fields, error statuses and header names are not breaking", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/reports"] = { get: structuredClone(d.paths["/api/v2/leads"].get) };
      d.paths["/api/v2/leads/{id}"].patch = structuredClone(d.paths["/api/v2/campaigns/{id}"].patch);
      schemas(d).Campaign.properties.owner = { type: "string" };
      schemas(d).Campaign.required.push("owner");
      schemas(d).UpdateCampaignBody.properties.owner = { type: "string" };
      d.paths["/api/v2/leads/{id}"].get.responses["410"] = structuredClone(
        d.paths["/api/v2/leads/{id}"].get.responses["404"],
      );
      d.paths["/api/v2/leads/{id}"].get.responses["200"].headers.ETag = { schema: { type: "string" } };
      schemas(d).Campaign.properties.status.anyOf[0].enum.pop();
    });
    expect(lines(changes, "breaking")).toEqual([]);
    expect(lines(changes, "dangerous")).toEqual([]);
    expect(lines(changes, "non-breaking")).toEqual([
      "REST #/components/schemas/Campaign /owner: response field added",
      'REST #/components/schemas/Campaign /status: response is no longer "archived"',
      "REST #/components/schemas/UpdateCampaignBody /owner: new optional request field",
      "REST GET /api/v2/leads/{id} response 200: header ETag added",
      "REST GET /api/v2/leads/{id}: new response 410",
      "REST GET /api/v2/reports: added",
      "REST PATCH /api/v2/leads/{id}: added",
    ]);
  });

  it("a renamed path parameter is the same operation", () => {
    const changes = diffWith((d) => {
      const item = d.paths["/api/v2/leads/{id}"];
      delete d.paths["/api/v2/leads/{id}"];
      for (const op of Object.values(item) as Doc[]) {
        for (const p of op.parameters) if (p.in === "path") p.name = "lead_id";
      }
      d.paths["/api/v2/leads/{lead_id}"] = item;
    });
    expect(changes).toEqual([]);
  });

  it("a new success status is dangerous", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/leads/{id}"].get.responses["202"] = structuredClone(
        d.paths["/api/v2/leads/{id}"].get.responses["200"],
      );
    });
    expect(lines(changes, "dangerous")).toEqual(["REST GET /api/v2/leads/{id}: new success response 202"]);
  });
});

describe("the 90-day deprecation rule", () => {
  const since = new Date("2026-12-05T00:00:00Z");
  const sunset = new Date(since.getTime() + 90 * DAY);
  const deprecate = (op: Doc, at = since, until = sunset) => {
    op.deprecated = true;
    op["x-deprecated-at"] = at.toISOString();
    op["x-sunset"] = until.toISOString();
  };
  const removeCampaign = (d: Doc) => delete d.paths["/api/v2/campaigns/{id}"].patch;
  const baseDeprecated = (d: Doc) => deprecate(d.paths["/api/v2/campaigns/{id}"].patch);

  it("refuses removing a deprecated operation before its sunset", () => {
    const changes = diffWith(removeCampaign, { base: baseDeprecated, now: new Date(sunset.getTime() - 1) });
    expect(lines(changes, "breaking")).toEqual([
      `REST PATCH /api/v2/campaigns/{id}: removed (deprecated 2026-12-05; it may be removed from ${sunset.toISOString()} on, not before)`,
    ]);
  });

  it("allows removing it from its sunset on, and reports the removal", () => {
    const changes = diffWith(removeCampaign, { base: baseDeprecated, now: sunset });
    expect(lines(changes, "breaking")).toEqual([]);
    expect(lines(changes, "non-breaking")).toEqual([
      `REST PATCH /api/v2/campaigns/{id}: removed after its sunset (deprecated 2026-12-05, removable from ${sunset.toISOString()})`,
    ]);
  });

  it("never allows it sooner than 90 days after the deprecation, whatever x-sunset says", () => {
    const early = new Date(since.getTime() + 30 * DAY);
    const changes = diffWith(removeCampaign, {
      base: (d) => deprecate(d.paths["/api/v2/campaigns/{id}"].patch, since, early),
      now: new Date(early.getTime() + DAY),
    });
    expect(lines(changes, "breaking")).toHaveLength(1);
  });

  it("refuses removing an operation that was never deprecated, however late", () => {
    const changes = diffWith(removeCampaign, { now: new Date("2099-01-01T00:00:00Z") });
    expect(lines(changes, "breaking")).toEqual([
      "REST PATCH /api/v2/campaigns/{id}: removed (it was not deprecated)",
    ]);
  });

  it("counts a baseline deprecation without dates from the baseline's release", () => {
    const base = (d: Doc) => {
      d.paths["/api/v2/campaigns/{id}"].patch.deprecated = true;
    };
    const from = new Date(RELEASED.getTime() + 90 * DAY);
    expect(
      lines(diffWith(removeCampaign, { base, now: new Date(from.getTime() - 1) }), "breaking"),
    ).toHaveLength(1);
    expect(lines(diffWith(removeCampaign, { base, now: from }), "breaking")).toEqual([]);
  });

  it("needs x-deprecated-at and x-sunset on every deprecated operation", () => {
    const changes = diffWith((d) => {
      d.paths["/api/v2/campaigns/{id}"].patch.deprecated = true;
    });
    expect(lines(changes, "breaking")).toEqual([
      "REST PATCH /api/v2/campaigns/{id}: deprecated, but a deprecated operation must carry x-deprecated-at and x-sunset (ISO 8601)",
    ]);
  });

  it("needs x-sunset at least 90 days after x-deprecated-at", () => {
    const changes = diffWith((d) =>
      deprecate(d.paths["/api/v2/campaigns/{id}"].patch, since, new Date(since.getTime() + 89 * DAY)),
    );
    expect(lines(changes, "breaking")).toEqual([
      "REST PATCH /api/v2/campaigns/{id}: deprecated with a sunset too soon: removal 89 days after the deprecation (2026-12-05); the policy needs at least 90",
    ]);
    const ok = diffWith((d) => deprecate(d.paths["/api/v2/campaigns/{id}"].patch));
    expect(lines(ok, "breaking")).toEqual([]);
    expect(lines(ok, "non-breaking")).toEqual([
      `REST PATCH /api/v2/campaigns/{id}: deprecated (x-deprecated-at ${since.toISOString()}, x-sunset ${sunset.toISOString()})`,
    ]);
  });

  it("refuses a new deprecation dated before the baseline's release (back-dating)", () => {
    const backDated = new Date(RELEASED.getTime() - 60 * DAY);
    const changes = diffWith((d) =>
      deprecate(d.paths["/api/v2/campaigns/{id}"].patch, backDated, new Date(backDated.getTime() + 90 * DAY)),
    );
    expect(lines(changes, "breaking")).toEqual([
      "REST PATCH /api/v2/campaigns/{id}: newly deprecated but dated 2026-10-03, before the baseline's release (2026-12-02): the notice starts when it is released",
    ]);
  });

  it("refuses moving an announced sunset earlier", () => {
    const changes = diffWith(
      (d) => {
        d.paths["/api/v2/campaigns/{id}"].patch["x-sunset"] = sunset.toISOString();
      },
      {
        base: (d) =>
          deprecate(d.paths["/api/v2/campaigns/{id}"].patch, since, new Date(sunset.getTime() + 10 * DAY)),
      },
    );
    expect(lines(changes, "breaking")).toEqual([
      `REST PATCH /api/v2/campaigns/{id}: x-sunset moved earlier, from ${new Date(sunset.getTime() + 10 * DAY).toISOString()} to ${sunset.toISOString()}`,
    ]);
  });
});
