import { UnprocessableError } from "../errors.js";

/**
 * One line of a bulk load as the domain receives it: the parsed, typed value, or why the line was refused before it
 * reached the domain (not JSON, a field that did not validate). `line` counts from 1, blank lines included, so it
 * is the line number an editor shows.
 */
export type BulkItem<T> = { line: number; value: T } | { line: number; errors: BulkFieldError[] };

/** A field of one line: `path` is a JSON Pointer into that line's object (`/cost`, `` for the whole line). */
export type BulkFieldError = { path: string; message: string; [extension: string]: unknown };
export type BulkLineError = BulkFieldError & { line: number };

export type BulkOptions = {
  /** Refuse the whole load (nothing written) when any line is refused. */
  atomic: boolean;
  /** How many line errors the report lists; `errors_total` always counts them all. */
  maxErrors?: number;
};

export const DEFAULT_MAX_ERRORS = 1000;

export type BulkReport = {
  load_id: string;
  accepted: number;
  rejected: number;
  errors: BulkLineError[];
  errors_total: number;
  errors_truncated: boolean;
};

/**
 * Counts refused lines and keeps the first `maxErrors` line errors (by line number), in bounded memory however many
 * lines a load refuses.
 */
export class RejectionLog {
  private readonly kept: BulkLineError[] = [];
  private lineCount = 0;
  private errorCount = 0;
  private sorted = true;

  constructor(private readonly maxErrors: number) {}

  /** Records the errors of one refused line (a line is counted once, however many of its fields failed). */
  reject(line: number, errors: readonly BulkFieldError[]): void {
    this.lineCount++;
    for (const e of errors) this.keep({ line, ...e });
  }

  /**
   * Adds errors of lines the database refused, counted as `lines` lines beside the errors it lists (the database
   * reports at most `maxErrors` of them, first lines first).
   */
  rejectCounted(lines: number, errors: number, listed: readonly BulkLineError[]): void {
    this.lineCount += lines;
    this.errorCount += errors - listed.length;
    for (const e of listed) this.keep(e);
  }

  private keep(e: BulkLineError): void {
    this.errorCount++;
    const last = this.kept.at(-1);
    if (last && last.line > e.line) this.sorted = false;
    this.kept.push(e);
    if (this.kept.length > 2 * this.maxErrors) this.trim();
  }

  private trim(): void {
    if (!this.sorted) this.kept.sort((a, b) => a.line - b.line);
    this.sorted = true;
    this.kept.length = Math.min(this.kept.length, this.maxErrors);
  }

  get rejected(): number {
    return this.lineCount;
  }

  report(loadId: string, accepted: number): BulkReport {
    this.trim();
    return {
      load_id: loadId,
      accepted,
      rejected: this.lineCount,
      errors: [...this.kept],
      errors_total: this.errorCount,
      errors_truncated: this.errorCount > this.kept.length,
    };
  }
}

/**
 * `?atomic=true` and a line was refused: the request's transaction rolls back, so nothing of the load is written,
 * and the problem document lists the line errors.
 */
export class BulkLoadRefusedError extends UnprocessableError {
  override readonly code = "bulk-load-refused";
  constructor(report: BulkReport) {
    super(
      `${report.rejected} line(s) of the load did not validate; with atomic=true nothing was written.`,
      report.errors.map((e) => ({ location: "body" as const, ...e })),
    );
    this.extensions.rejected = report.rejected;
    this.extensions.errors_total = report.errors_total;
    this.extensions.errors_truncated = report.errors_truncated;
  }
}
