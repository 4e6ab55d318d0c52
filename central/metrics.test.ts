import { expect, it } from 'vitest';
import { createMetrics } from './metrics.ts';

/** The counter's value in a scrape. */
async function activeSeconds(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  const text = await metrics.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith('nodejs_eventloop_active_seconds_total '));
  if (!line) throw new Error(`no event-loop counter in:\n${text}`);
  return Number(line.split(' ')[1]);
}

it('counts the time the event loop was busy, and never goes back', async () => {
  const metrics = createMetrics();
  const first = await activeSeconds(metrics);
  // 60 ms of work in one turn, then a turn of waiting.
  const until = performance.now() + 60;
  while (performance.now() < until);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const second = await activeSeconds(metrics);
  expect(second - first).toBeGreaterThanOrEqual(0.055);
  // The 300 ms of waiting is not counted (with room for the scrapes on a busy machine).
  expect(second - first).toBeLessThan(0.2);
  expect(await activeSeconds(metrics)).toBeGreaterThanOrEqual(second);
});
