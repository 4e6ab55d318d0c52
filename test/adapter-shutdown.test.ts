import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPeerCentral, startTestCentral, type TestCentral } from './support/central.ts';
import { describePg } from './support/databases.ts';
import { within } from './support/deadline.ts';

describePg('a central process closing while its sync adapter connects', () => {
  let c: TestCentral;
  beforeAll(async () => {
    c = await startTestCentral('pg');
  });
  afterAll(async () => {
    await c.close();
  });

  // The adapter sets up its LISTEN connection in the background after the server starts; a
  // process told to stop at once must not wait for ever on that connection (a CI run stalled
  // 30 s closing such a central).
  it('closes within seconds, however early, and leaves no connection of its own', async () => {
    const sessions = async (): Promise<number> => {
      const result = await c.central.db.knex.raw<{ rows: { n: string }[] }>(
        `select count(*) as n from pg_stat_activity
          where datname = current_database() and query like 'LISTEN%'`,
      );
      return Number(result.rows[0]?.n);
    };
    const before = await sessions();
    for (let round = 0; round < 12; round += 1) {
      const peer = await startPeerCentral(c.database, c.clock, { SMS_WORKER: 'false' });
      // Rounds close after 0 to 11 ms, around the adapter's own setup.
      await new Promise((resolve) => setTimeout(resolve, round));
      await expect(within(peer.close(), 5_000, 'a peer central closing')).resolves.toBeUndefined();
    }
    await expect.poll(sessions, { timeout: 5_000 }).toBe(before);
  }, 90_000);
});
