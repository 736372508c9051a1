import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { handleClientErrors } from "../../src/http/client-errors.js";
import { startApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";

const NOW = new Date("2026-11-25T12:00:00Z");
const api = await startApi({ now: NOW });

async function leadsNamed(name: string): Promise<number> {
  const { rows } = await api.db.primary.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM leads WHERE company_name = $1",
    [name],
  );
  return rows[0]?.n ?? -1;
}

async function postRaw(path: string, body: Buffer, contentType = "application/json") {
  const res = await fetch(api.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${api.adminKey}`, "content-type": contentType },
    body: new Uint8Array(body),
  });
  return { status: res.status, type: res.headers.get("content-type"), body: await res.json() };
}

describe("a JSON body that would be stored other than it was sent", () => {
  it("with bytes that are not UTF-8 is a 400 and writes nothing", async () => {
    const name = `utf8 ${randomUUID()}`;
    const json = JSON.stringify({ leads: [leadInput({ company_name: name, industry: "XX" })] });
    const [before, after] = json.split('"XX"') as [string, string];
    const body = Buffer.concat([
      Buffer.from(`${before}"`),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
      Buffer.from(`"${after}`),
    ]);
    const res = await postRaw("/api/v2/leads", body);
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ type: "https://reachgraph.dev/problems/invalid-utf8", status: 400 });
    expect(res.body.detail).toMatch(/UTF-8/);
    expect(await leadsNamed(name)).toBe(0);
  });

  it("with a \\u escape of a lone surrogate is a 400 and writes nothing", async () => {
    const name = `surrogate ${randomUUID()}`;
    const json = JSON.stringify({ leads: [leadInput({ company_name: name, industry: "XX" })] }).replace(
      '"XX"',
      '"a\\ud800b"',
    );
    const res = await postRaw("/api/v2/leads", Buffer.from(json));
    expect(res.status).toBe(400);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe("https://reachgraph.dev/problems/invalid-utf8");
    expect(res.body.detail).toMatch(/lone UTF-16 surrogate/);
    expect(await leadsNamed(name)).toBe(0);
  });

  it("with a lone surrogate escaped in a member name is a 400, not an unknown field", async () => {
    const json = JSON.stringify({ leads: [leadInput()], XX: 1 }).replace('"XX"', '"\\udc00"');
    const res = await postRaw("/api/v2/leads", Buffer.from(json));
    expect(res.status).toBe(400);
    expect(res.body.type).toBe("https://reachgraph.dev/problems/invalid-utf8");
  });

  it("in another charset than UTF-8 is a 415 and writes nothing", async () => {
    const name = `utf16 ${randomUUID()}`;
    const json = JSON.stringify({ leads: [leadInput({ company_name: name })] });
    const res = await postRaw(
      "/api/v2/leads",
      Buffer.from(json, "utf16le"),
      "application/json; charset=utf-16le",
    );
    expect(res.status).toBe(415);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(res.body.type).toBe("https://reachgraph.dev/problems/unsupported-media-type");
    expect(await leadsNamed(name)).toBe(0);
  });

  it("with escaped surrogate pairs and non-ASCII text is accepted as sent", async () => {
    const name = `Zürich 😀 ${randomUUID()}`;
    const json = JSON.stringify({ leads: [leadInput({ company_name: name })] }).replace(
      "😀",
      "\\ud83d\\ude00",
    );
    const res = await postRaw("/api/v2/leads", Buffer.from(json));
    expect(res.status).toBe(200);
    expect(await leadsNamed(name)).toBe(1);
  });

  it("is refused by GraphQL too", async () => {
    const res = await fetch(`${api.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminKey}`, "content-type": "application/json" },
      body: Buffer.concat([
        Buffer.from('{"query":"{ __typename }","x":"'),
        Buffer.from([0xff]),
        Buffer.from('"}'),
      ]),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect((await res.json()).type).toBe("https://reachgraph.dev/problems/invalid-utf8");
  });
});

describe("a time that happened, given in the future of the request clock", () => {
  const future = "9999-12-31T23:59:59Z";
  const justInside = new Date(NOW.getTime() + 4 * 60 * 1000).toISOString();
  // The skew is minutes, not "anything before year 9999".
  const justOutside = new Date(NOW.getTime() + 6 * 60 * 1000).toISOString();
  const cases: [string, string, (at: string) => unknown, string][] = [
    [
      "consent_timestamp",
      "/api/v2/leads",
      (at) => ({ leads: [leadInput({ consent_timestamp: at })] }),
      "/leads/0/consent_timestamp",
    ],
    [
      "AI-GYM created_at",
      "/api/v2/ai-gym/records",
      (at) => ({
        records: [
          {
            task_type: "email_copy",
            model_name: "m",
            cost: 0.01,
            duration_seconds: 1,
            quality_score: 50,
            created_at: at,
          },
        ],
      }),
      "/records/0/created_at",
    ],
    [
      "v1 consent_timestamp",
      "/api/v1/leads",
      (at) => leadInput({ consent_timestamp: at }),
      "/consent_timestamp",
    ],
  ];
  it.each(cases)(
    "%s is a 422 naming the field; a time within the clock skew is accepted",
    async (_name, path, body, pointer) => {
      for (const at of [future, justOutside]) {
        const refused = await api.request("POST", path, { body: body(at) });
        expect(refused.status, at).toBe(422);
        expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(refused.body.errors).toContainEqual(
          expect.objectContaining({ location: "body", path: pointer, message: "must not be in the future" }),
        );
      }
      const accepted = await api.request("POST", path, { body: body(justInside) });
      expect(accepted.status).toBeLessThan(300);
    },
  );

  it("a message's sent_at is a 422 too", async () => {
    const lead = await api.request("POST", "/api/v2/leads", { body: { leads: [leadInput()] } });
    const conversation = await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: lead.body.data[0].id },
    });
    const message = (at: string) => ({
      direction: "inbound",
      from_email: "a@b.example",
      to_email: "c@d.example",
      body: "hi",
      sent_at: at,
    });
    for (const at of [future, justOutside]) {
      const refused = await api.request("POST", `/api/v2/conversations/${conversation.body.id}`, {
        body: message(at),
      });
      expect(refused.status, at).toBe(422);
      expect(refused.body.errors).toContainEqual(
        expect.objectContaining({ path: "/sent_at", message: "must not be in the future" }),
      );
    }
    const accepted = await api.request("POST", `/api/v2/conversations/${conversation.body.id}`, {
      body: message(justInside),
    });
    expect(accepted.status).toBe(201);
  });
});

/** Sends raw bytes and reads everything until the server closes the connection. */
function rawRequest(text: string, port = Number(new URL(api.url).port)): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.on("data", (c) => (data += c.toString("latin1")));
    socket.on("error", () => undefined); // a reset still ends in "close"
    socket.on("close", () => resolve(data));
  });
}

/** A complete HTTP/1.1 problem response: status line, problem+json, Connection: close, an exact Content-Length. */
function expectProblemResponse(raw: string, status: number, code: string): void {
  const split = raw.indexOf("\r\n\r\n");
  expect(split, raw).toBeGreaterThan(0);
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
  expect(head).toMatch(/\r\ncontent-type: application\/problem\+json\r\n/i);
  expect(head).toMatch(/\r\nconnection: close(\r\n|$)/i);
  expect(head).toMatch(new RegExp(`\r\ncontent-length: ${Buffer.byteLength(body, "latin1")}(\r\n|$)`, "i"));
  expect(JSON.parse(body)).toMatchObject({ status, type: `https://reachgraph.dev/problems/${code}` });
}

describe("requests Node's HTTP parser refuses", () => {
  it("a 20 KB query string is a 431 problem+json", async () => {
    const raw = await rawRequest(`GET /api/v2/leads?q=${"x".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expectProblemResponse(raw, 431, "request-header-fields-too-large");
  });

  it("a malformed request line is a 400 problem+json", async () => {
    const raw = await rawRequest("THIS IS NOT HTTP\r\n\r\n");
    expectProblemResponse(raw, 400, "bad-request");
  });

  it("a malformed header is a 400 problem+json", async () => {
    const raw = await rawRequest("GET /api/v2/leads HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n");
    expectProblemResponse(raw, 400, "bad-request");
  });

  describe("each parser error code (handleClientErrors on a bare server)", () => {
    /** Whatever the socket sends, the server reports `code` for it, as Node's parser or its timers would. */
    async function answerTo(code: string): Promise<string> {
      const server = handleClientErrors(http.createServer());
      server.on("connection", (socket) => {
        socket.once("data", () =>
          server.emit("clientError", Object.assign(new Error(code), { code }), socket),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        return await rawRequest("G", (server.address() as AddressInfo).port);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }

    it.each([
      ["ERR_HTTP_REQUEST_TIMEOUT", 408, "request-timeout"],
      ["HPE_CHUNK_EXTENSIONS_OVERFLOW", 413, "payload-too-large"],
      ["HPE_INVALID_METHOD", 400, "bad-request"],
    ] as const)("%s is a %i problem+json", async (code, status, type) => {
      expectProblemResponse(await answerTo(code), status, type);
    });

    it("a reset connection is closed without an answer", async () => {
      expect(await answerTo("ECONNRESET")).toBe("");
    });
  });
});
