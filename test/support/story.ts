import { afterEach, beforeEach } from 'vitest';

/**
 * For a describe whose tests are one story (each starts where the last left the page and the
 * data): after a test fails, the later ones are skipped, naming it, so the report shows the
 * failure that matters rather than a cascade of its consequences. The run is red either way;
 * a passing run (CI=true or not) skips nothing, and every skip prints the step that failed.
 * Call inside the describe.
 */
export function skipRestOfStoryAfterFailure(): void {
  let failedStep: string | undefined;
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failedStep ??= ctx.task.name;
  });
  beforeEach((ctx) => {
    if (failedStep) ctx.skip(`an earlier step failed: ${failedStep}`);
  });
}
