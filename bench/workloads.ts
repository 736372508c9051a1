import { randomUUID } from "node:crypto";
import type pg from "pg";

/** One single-event write endpoint under load: what to set up first and the body of each request. */
export type Workload = {
  name: string;
  path: string;
  /** Rows each request writes (besides its audit rows and events). */
  rowsPerRequest: number;
  prepare: (ctx: { base: string; key: string; db: pg.Pool }) => Promise<{ body: () => unknown }>;
};

const lead = () => {
  const id = randomUUID();
  return {
    company_name: "Bench Co",
    domain: `${id}.example`,
    source_platform: "bench",
    contact_email: `owner@${id}.example`,
    consent_source: "public_business_listing",
    consent_timestamp: "2026-11-25T09:00:00Z",
  };
};

export const workloads: Workload[] = [
  {
    name: "POST /api/v2/leads (1 lead)",
    path: "/api/v2/leads",
    rowsPerRequest: 1,
    prepare: async () => ({ body: () => ({ leads: [lead()] }) }),
  },
  {
    name: "POST /api/v2/leads (batch of 100)",
    path: "/api/v2/leads",
    rowsPerRequest: 100,
    prepare: async () => ({ body: () => ({ leads: Array.from({ length: 100 }, lead) }) }),
  },
];
