import { describe, expect, it } from "vitest";
import { NotFoundError, UnprocessableError } from "../../src/domain/errors.js";
import { pointAtFields } from "../../src/rest/route.js";

/** The domain names fields ({field, index}); the route wrapper alone spells the JSON Pointers of a 422. */
describe("pointAtFields", () => {
  const route = { operationId: "queueEmails", batch: "emails" };

  it("points a field at the body member and an indexed field at the batch item", () => {
    const err = new UnprocessableError("bad", [
      { field: "campaign_id", message: "no such campaign" },
      { field: "lead_id", index: 3, message: "no such lead" },
      { location: "query", path: "/after", message: "invalid cursor" },
    ]);
    expect(pointAtFields(route, err)).toBe(err);
    expect(err.extensions.errors).toEqual([
      { location: "body", path: "/campaign_id", message: "no such campaign" },
      { location: "body", path: "/emails/3/lead_id", message: "no such lead" },
      { location: "query", path: "/after", message: "invalid cursor" },
    ]);
    // Key order is part of the bytes clients have seen: location, path, message.
    expect(Object.keys((err.extensions.errors as object[])[1] ?? {})).toEqual([
      "location",
      "path",
      "message",
    ]);
  });

  it("refuses an indexed field on a route that declares no batch member", () => {
    const err = new UnprocessableError("bad", [{ field: "lead_id", index: 0, message: "no such lead" }]);
    expect(() => pointAtFields({ operationId: "x" }, err)).toThrow(/no batch member/);
  });

  it("leaves other errors alone", () => {
    const err = new NotFoundError("Lead", "1");
    expect(pointAtFields(route, err)).toBe(err);
  });
});
