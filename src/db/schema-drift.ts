import type pg from "pg";

/** The parts of Prisma's DMMF datamodel the drift check reads (written by prisma/generators/dmmf-json.mjs). */
export type DmmfField = {
  name: string;
  dbName?: string | null;
  kind: "scalar" | "object" | "enum" | "unsupported";
  type: string;
  isList: boolean;
  isRequired: boolean;
  isId: boolean;
  isUnique?: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
};
export type DmmfModel = {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { fields: string[] } | null;
  uniqueFields?: string[][];
};
export type DmmfDatamodel = { models: DmmfModel[] };

type ColumnShape = { type: string; nullable: boolean | null; default: string | null };
export type SchemaShape = {
  tables: Record<
    string,
    {
      /** Set on the database side: views (plain or materialized) carry no nullability and no keys of their own. */
      kind?: "table" | "view";
      columns: Record<string, ColumnShape>;
      primaryKey: string[];
      foreignKeys: string[];
      /**
       * Unique column sets, as "a,b" (sorted). Compared for materialized views, where they are the index REFRESH …
       * CONCURRENTLY needs; null for plain views, which have no indexes.
       */
      unique: string[] | null;
    }
  >;
};

function prismaColumnType(f: DmmfField): string {
  const [native, args = []] = f.nativeType ?? [undefined, []];
  let t: string;
  switch (f.type) {
    case "String":
      t =
        native === "Uuid"
          ? "uuid"
          : native === "VarChar"
            ? args.length
              ? `character varying(${args[0]})`
              : "character varying"
            : native === "Char"
              ? `character(${args[0] ?? 1})`
              : "text";
      break;
    case "Int":
      t = native === "SmallInt" ? "smallint" : "integer";
      break;
    case "BigInt":
      t = "bigint";
      break;
    case "Boolean":
      t = "boolean";
      break;
    case "DateTime":
      t =
        native === "Date"
          ? "date"
          : native === "Timestamptz"
            ? "timestamp with time zone"
            : "timestamp without time zone";
      break;
    case "Float":
      t = native === "Real" ? "real" : "double precision";
      break;
    case "Decimal":
      t = args.length ? `numeric(${args.join(",")})` : "numeric";
      break;
    case "Bytes":
      t = "bytea";
      break;
    case "Json":
      t = native === "Json" ? "json" : "jsonb";
      break;
    default:
      t = `unsupported:${f.type}`;
  }
  return f.isList ? `${t}[]` : t;
}

function prismaDefault(f: DmmfField): string | null {
  const d = f.default as
    | { name?: string; args?: unknown[] }
    | unknown[]
    | string
    | number
    | boolean
    | undefined;
  if (d === undefined || d === null) return null;
  // A list default (`@default([])`, `@default(["a"])`) is PostgreSQL's array literal `'{}'`, `'{a}'`.
  if (Array.isArray(d)) return `{${d.map(String).join(",")}}`;
  if (typeof d === "object") {
    if (d.name === "dbgenerated") return String(d.args?.[0] ?? "");
    if (d.name === "now") return "now()";
    if (d.name === "autoincrement") return "identity";
    return `${d.name}()`;
  }
  return String(d);
}

/** `'building'::character varying` → `building`; `'{}'::jsonb` → `{}`; `100` → `100`. */
function normaliseDbDefault(expr: string | null): string | null {
  if (expr === null) return null;
  const literal = /^'((?:[^']|'')*)'::[\w\s]+(\[\])?$/.exec(expr);
  if (literal) return (literal[1] ?? "").replaceAll("''", "'");
  return expr;
}

/** The schema as Prisma describes it, in the catalog's terms. */
export function shapeFromDmmf(datamodel: DmmfDatamodel): SchemaShape {
  const byName = new Map(datamodel.models.map((m) => [m.name, m]));
  const column = (m: DmmfModel, fieldName: string) => {
    const f = m.fields.find((x) => x.name === fieldName);
    return f?.dbName ?? fieldName;
  };
  const tables: SchemaShape["tables"] = {};
  for (const m of datamodel.models) {
    const columns: Record<string, ColumnShape> = {};
    for (const f of m.fields) {
      if (f.kind !== "scalar") continue;
      columns[f.dbName ?? f.name] = {
        type: prismaColumnType(f),
        // Prisma cannot declare whether a list column is nullable; list columns are compared on type and default.
        nullable: f.isList ? null : !f.isRequired,
        default: prismaDefault(f),
      };
    }
    const pk = m.primaryKey?.fields ?? m.fields.filter((f) => f.isId).map((f) => f.name);
    const foreignKeys = m.fields
      .filter((f) => f.kind === "object" && (f.relationFromFields?.length ?? 0) > 0)
      .map((f) => {
        const target = byName.get(f.type);
        const from = (f.relationFromFields ?? []).map((n) => column(m, n)).join(",");
        const to = target ? (f.relationToFields ?? []).map((n) => column(target, n)).join(",") : "?";
        return `(${from}) -> ${target?.dbName ?? f.type}(${to})`;
      })
      .sort();
    const unique = [...(m.uniqueFields ?? []), ...m.fields.filter((f) => f.isUnique).map((f) => [f.name])]
      .map((fields) =>
        fields
          .map((n) => column(m, n))
          .sort()
          .join(","),
      )
      .sort();
    tables[m.dbName ?? m.name] = {
      columns,
      primaryKey: pk.map((n) => column(m, n)).sort(),
      foreignKeys,
      unique,
    };
  }
  return { tables };
}

/**
 * The schema as the migrated database has it: ordinary and partitioned tables (not partitions), views and
 * materialized views of one schema.
 */
export async function shapeFromDatabase(db: pg.Pool | pg.Client, schema = "public"): Promise<SchemaShape> {
  const cols = await db.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    def: string | null;
    identity: string;
    relkind: string;
  }>(
    `SELECT c.relname AS table, c.relkind AS relkind, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity AS identity
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm') AND NOT c.relispartition
       AND c.relname <> 'pgmigrations'
     ORDER BY c.relname, a.attnum`,
    [schema],
  );
  const keys = await db.query<{
    table: string;
    kind: string;
    def: string;
    columns: string[];
    ref_table: string | null;
    ref_columns: string[] | null;
  }>(
    `SELECT c.relname AS table, k.contype AS kind, pg_get_constraintdef(k.oid) AS def,
            ARRAY(SELECT a.attname FROM unnest(k.conkey) AS u(n) JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY a.attname)::text[] AS columns,
            r.relname AS ref_table,
            ARRAY(SELECT a.attname FROM unnest(k.confkey) AS u(n) JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n)::text[] AS ref_columns
     FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_class r ON r.oid = k.confrelid
     WHERE n.nspname = $1 AND k.contype IN ('p', 'f') AND NOT c.relispartition AND k.conparentid = 0`,
    [schema],
  );
  const tables: SchemaShape["tables"] = {};
  for (const r of cols.rows) {
    const view = r.relkind === "v" || r.relkind === "m";
    const t = tables[r.table] ?? {
      kind: view ? "view" : "table",
      columns: {},
      primaryKey: [],
      foreignKeys: [],
      unique: r.relkind === "v" ? null : [],
    };
    tables[r.table] = t;
    t.columns[r.column] = {
      type: r.type,
      nullable: view ? null : r.nullable,
      default: r.identity ? "identity" : normaliseDbDefault(r.def),
    };
  }
  for (const k of keys.rows) {
    const t = tables[k.table];
    if (!t) continue;
    if (k.kind === "p") t.primaryKey = [...k.columns].sort();
    else
      t.foreignKeys.push(
        `(${(k.columns ?? []).join(",")}) -> ${k.ref_table}(${(k.ref_columns ?? []).join(",")})`,
      );
  }
  const uniques = await db.query<{ table: string; columns: string }>(
    `SELECT c.relname AS table,
            array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) AS u(n)
                                    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.n
                                   ORDER BY a.attname), ',') AS columns
       FROM pg_index i
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'm' AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`,
    [schema],
  );
  for (const u of uniques.rows) tables[u.table]?.unique?.push(u.columns);
  for (const t of Object.values(tables)) {
    t.foreignKeys.sort();
    t.unique?.sort();
  }
  return { tables };
}

/** Every difference between the two shapes, as readable lines; empty when they agree. */
export function diffShapes(prisma: SchemaShape, database: SchemaShape): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(prisma.tables), ...Object.keys(database.tables)]);
  for (const table of [...names].sort()) {
    const p = prisma.tables[table];
    const d = database.tables[table];
    if (!p) {
      out.push(`table ${table}: in the database, not in schema.prisma`);
      continue;
    }
    if (!d) {
      out.push(`table ${table}: in schema.prisma, not in the database`);
      continue;
    }
    const columns = new Set([...Object.keys(p.columns), ...Object.keys(d.columns)]);
    for (const column of columns) {
      const pc = p.columns[column];
      const dc = d.columns[column];
      if (!pc) out.push(`${table}.${column}: in the database, not in schema.prisma`);
      else if (!dc) out.push(`${table}.${column}: in schema.prisma, not in the database`);
      else {
        if (pc.type !== dc.type)
          out.push(`${table}.${column}: type ${pc.type} in schema.prisma, ${dc.type} in the database`);
        if (pc.nullable !== null && dc.nullable !== null && pc.nullable !== dc.nullable)
          out.push(
            `${table}.${column}: ${pc.nullable ? "nullable" : "NOT NULL"} in schema.prisma, ${dc.nullable ? "nullable" : "NOT NULL"} in the database`,
          );
        if (pc.default !== dc.default)
          out.push(
            `${table}.${column}: default ${pc.default} in schema.prisma, ${dc.default} in the database`,
          );
      }
    }
    const pUnique = p.unique ?? [];
    if (d.kind === "view" && d.unique && pUnique.join(" ") !== d.unique.join(" "))
      out.push(
        `${table}: unique (${pUnique.join(") (")}) in schema.prisma, (${d.unique.join(") (")}) in the database`,
      );
    if (p.primaryKey.join(",") !== d.primaryKey.join(","))
      out.push(`${table}: primary key (${p.primaryKey}) in schema.prisma, (${d.primaryKey}) in the database`);
    for (const fk of p.foreignKeys)
      if (!d.foreignKeys.includes(fk)) out.push(`${table}: foreign key ${fk} missing in the database`);
    for (const fk of d.foreignKeys)
      if (!p.foreignKeys.includes(fk)) out.push(`${table}: foreign key ${fk} missing in schema.prisma`);
  }
  return out;
}
