import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, startApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";

const api = await startApi();
const q = async (sql: string, params: unknown[] = []) => (await api.db.primary.query(sql, params)).rows;

describe("DELETE /api/v2/leads/{id} (GDPR erasure)", () => {
  it("deletes the lead's data and assets, keeps anonymised metrics, audits and emits lead.erased", async () => {
    const ingested = await api.request("POST", "/api/v2/leads", { body: { leads: [leadInput()] } });
    const leadId: string = ingested.body.data[0].id;
    const [campaign] = await q("INSERT INTO campaigns (name) VALUES ('erasure') RETURNING id");
    const [analysis] = await q("INSERT INTO website_analyses (lead_id) VALUES ($1) RETURNING id", [leadId]);
    const [demo] = await q("INSERT INTO demo_sites (lead_id, analysis_id) VALUES ($1, $2) RETURNING id", [
      leadId,
      analysis?.id,
    ]);
    await q("INSERT INTO videos (lead_id, demo_site_id) VALUES ($1, $2)", [leadId, demo?.id]);
    const [conversation] = await q(
      "INSERT INTO conversations (lead_id, campaign_id) VALUES ($1, $2) RETURNING id",
      [leadId, campaign?.id],
    );
    await q(
      "INSERT INTO conversation_messages (conversation_id, direction, body) VALUES ($1, 'inbound', 'hi')",
      [conversation?.id],
    );
    const [meeting] = await q(
      "INSERT INTO meetings (lead_id, campaign_id, conversation_id) VALUES ($1, $2, $3) RETURNING id",
      [leadId, campaign?.id, conversation?.id],
    );
    await q(
      "INSERT INTO deals (lead_id, campaign_id, meeting_id, status, amount, won_at) VALUES ($1, $2, $3, 'won', 1250.00, NOW())",
      [leadId, campaign?.id, meeting?.id],
    );
    await q(
      `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, tracking_token, status, sent_at, opened_at)
       VALUES ($1, $2, 'Hi Jane', 'Dear Jane…', $3, 'sent', NOW(), NOW())`,
      [campaign?.id, leadId, randomUUID()],
    );
    await q(
      "INSERT INTO ai_gym_performance (task_type, model_name, lead_id, cost, duration_seconds, quality_score) VALUES ('website_analysis', 'gpt-5', $1, 0.07, 19, 88)",
      [leadId],
    );

    // A stored idempotent response that quotes the lead, one that quotes its address, and a bounce text.
    const email = String(
      (await q("SELECT contact_email FROM leads WHERE id = $1", [leadId]))[0]?.contact_email,
    );
    const replayKey = `erase-${leadId}`;
    await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: leadId },
      headers: { "idempotency-key": replayKey },
    });
    await q(
      `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_method, request_path, request_hash, status,
                                     response_status, response_body, expires_at)
       SELECT id, $1, 'POST', '/api/v2/email/claim', repeat('0', 64), 'completed', 200, convert_to($2, 'UTF8'),
              NOW() + interval '1 day'
         FROM api_keys LIMIT 1`,
      [`claim-${leadId}`, `{"to_email":"${email}"}`],
    );
    await q("UPDATE email_sends SET last_error = $2 WHERE lead_id = $1", [
      leadId,
      `550 ${email}: no such user`,
    ]);

    const res = await api.request("DELETE", `/api/v2/leads/${leadId}`, {
      headers: { "x-correlation-id": `erase-${leadId}` },
    });
    expect(res.status).toBe(200);
    expectDocumented(res, "DELETE", "/api/v2/leads/{id}");
    expect(res.body.erased).toMatchObject({
      conversation_messages: 1,
      conversations: 2,
      videos: 1,
      demo_sites: 1,
      website_analyses: 1,
      email_sends_anonymised: 1,
      ai_gym_records_anonymised: 1,
      meetings_anonymised: 1,
      deals_anonymised: 1,
    });

    expect(await q("SELECT 1 FROM leads WHERE id = $1", [leadId])).toEqual([]);
    expect(await q("SELECT 1 FROM conversations WHERE id = $1", [conversation?.id])).toEqual([]);
    const [send] = await q(
      "SELECT lead_id, body, subject_variant, last_error, opened_at FROM email_sends WHERE campaign_id = $1",
      [campaign?.id],
    );
    expect(send).toMatchObject({ lead_id: null, body: null, subject_variant: null, last_error: null });
    expect(
      await q("SELECT 1 FROM idempotency_keys WHERE idempotency_key = ANY($1)", [
        [replayKey, `claim-${leadId}`],
      ]),
    ).toEqual([]);
    expect(send?.opened_at).toBeInstanceOf(Date);
    const [deal] = await q("SELECT lead_id, amount::text FROM deals WHERE campaign_id = $1", [campaign?.id]);
    expect(deal).toEqual({ lead_id: null, amount: "1250.00" });
    expect(
      await q("SELECT 1 FROM audit_log WHERE action = 'lead.erased' AND resource_id = $1", [leadId]),
    ).toHaveLength(1);
    const events = await q(
      "SELECT payload FROM event_outbox WHERE type = 'lead.erased' AND correlation_id = $1",
      [`erase-${leadId}`],
    );
    expect(events).toEqual([{ payload: { lead_id: leadId, erased_at: expect.any(String) } }]);

    const again = await api.request("DELETE", `/api/v2/leads/${leadId}`);
    expect(again.status).toBe(404);
  });

  it("needs the admin scope", async () => {
    const res = await api.request("DELETE", `/api/v2/leads/${randomUUID()}`, {
      key: await api.keyWith("ingest"),
    });
    expect(res.status).toBe(403);
  });
});
