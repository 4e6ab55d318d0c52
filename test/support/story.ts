import { afterEach, beforeEach } from 'vitest';

/**
 * For a describe whose tests are one story (each starts where the last left the page and the
 * data): after a test fails, each later one fails at once, naming it, so the report shows the
 * failure that matters rather than a cascade of its consequences (timeouts on a page in the
 * wrong state). Nothing is skipped: a passing run runs every step. Call inside the describe.
 */
export function stopStoryAtFirstFailure(): void {
  let failedStep: string | undefined;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failedStep ??= ctx.task.name;
  });
  beforeEach(() => {
    if (failedStep) throw new Error(`not run: an earlier step failed: ${failedStep}`);
  });
}
