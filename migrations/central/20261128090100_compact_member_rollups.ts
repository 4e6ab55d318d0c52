import type { Knex } from 'knex';

/**
 * The migration before this one updated every row of the members' rollups, which left both
 * tables twice their size, and the reports read them whole. VACUUM FULL rewrites them compactly
 * (an exclusive lock for about 10 s on a million members). It cannot run inside a transaction,
 * nor would it help there: CLUSTER or VACUUM FULL in the updating transaction keeps the old row
 * versions, which that transaction still counts as recently dead. SQLite updates in place.
 */
export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'pg') return;
  await knex.raw('vacuum full report_member_stats');
  await knex.raw('vacuum full report_member_showrooms');
}

export function down(): Promise<void> {
  // Nothing to undo: the tables hold the same rows.
  return Promise.resolve();
}
