import { randomUUID } from "node:crypto";
import net from "node:net";
import { describe, expect, it } from "vitest";
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

async function postRaw(path: string, body: Buffer) {
  const res = await fetch(api.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${api.adminKey}`, "content-type": "application/json" },
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
    expect(res.body.type).toBe("https://reachgraph.dev/problems/invalid-utf8");
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

/** Sends raw bytes and reads the whole response (the server closes the connection). */
function rawRequest(text: string): Promise<string> {
  const { port } = new URL(api.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), "127.0.0.1", () => socket.write(text));
    let data = "";
    socket.on("data", (c) => (data += c.toString()));
    socket.on("end", () => resolve(data));
    socket.on("error", reject);
  });
}

describe("requests Node's HTTP parser refuses", () => {
  it("a 20 KB query string is a 431 problem+json", async () => {
    const raw = await rawRequest(`GET /api/v2/leads?q=${"x".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const [head, body] = raw.split("\r\n\r\n") as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 431 /);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body)).toMatchObject({
      status: 431,
      type: "https://reachgraph.dev/problems/request-header-fields-too-large",
    });
  });

  it("a malformed request line is a 400 problem+json", async () => {
    const raw = await rawRequest("THIS IS NOT HTTP\r\n\r\n");
    const [head, body] = raw.split("\r\n\r\n") as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body)).toMatchObject({
      status: 400,
      type: "https://reachgraph.dev/problems/bad-request",
    });
  });
});
