import { V1_SUNSET } from "../../src/rest/v1/deprecation.js";

/**
 * startApi options for a file that calls v1 routes as they work while v1 lives: v1 answers 410 from its Sunset on,
 * so on and after that day the app runs on a clock fixed the day before it (test/contract/v1-sunset.test.ts tests
 * the 410 itself). Before then, the real clock.
 */
export function whileV1Lives(): { now?: Date } {
  const dayBefore = new Date(V1_SUNSET.getTime() - 86_400_000);
  return Date.now() < dayBefore.getTime() ? {} : { now: dayBefore };
}
