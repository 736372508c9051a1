import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The request clock, for validation rules that compare input with "now" (a time that happened must not lie in the
 * future). The route wrapper runs validation inside `withRequestClock(now, …)`, so a rule sees the same clock as
 * the handler — tests move it — without every schema taking it as a parameter.
 */
const clock = new AsyncLocalStorage<Date>();

export function withRequestClock<T>(now: Date, fn: () => T): T {
  return clock.run(now, fn);
}

export function requestNow(): Date {
  return clock.getStore() ?? new Date();
}
