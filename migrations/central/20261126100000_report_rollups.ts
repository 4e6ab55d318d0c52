import type { Knex } from 'knex';

/**
 * Report rollups: sums by calendar day (YYYY-MM-DD in the chain's time zone, the zone kept in
 * meta 'reports.time_zone'), kept by the ledger writer in the transaction of each batch and
 * rebuilt from the ledger by `npm run central -- reports rebuild`. showroom_id 0 means "no
 * showroom" (or, in report_visits_daily, "any showroom": the whole chain).
 */
export async function up(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === 'pg';
  const day = (t: Knex.CreateTableBuilder, name = 'day') => t.string(name, 10).notNullable();
  const count = (t: Knex.CreateTableBuilder, name: string) =>
    t.bigInteger(name).notNullable().defaultTo(0);

  // Ledger entries by kind; 'reverse' split into 'return' (a sale's return) and
  // 'redeem-cancel' (a cancelled redemption), other reversals stay 'reverse'.
  await knex.schema.createTable('report_points_daily', (t) => {
    day(t);
    t.integer('showroom_id').notNullable();
    t.string('movement', 16).notNullable();
    count(t, 'entries');
    count(t, 'points');
    // Signed like the points: a redemption's rupee value negative, its cancellation positive.
    count(t, 'value_paise');
    t.primary(['day', 'showroom_id', 'movement']);
  });

  // Sale lines by category, and return lines by the category of the line they return.
  await knex.schema.createTable('report_sales_daily', (t) => {
    day(t);
    t.integer('showroom_id').notNullable();
    t.integer('category_id').notNullable();
    count(t, 'lines');
    count(t, 'amount_paise');
    count(t, 'points');
    count(t, 'returned_lines');
    count(t, 'returned_amount_paise');
    count(t, 'returned_points');
    t.primary(['day', 'showroom_id', 'category_id']);
  });

  await knex.schema.createTable('report_bills_daily', (t) => {
    day(t);
    t.integer('showroom_id').notNullable();
    count(t, 'bills');
    count(t, 'amount_paise');
    count(t, 'points');
    count(t, 'returns');
    count(t, 'returned_amount_paise');
    count(t, 'returned_points');
    t.primary(['day', 'showroom_id']);
  });

  await knex.schema.createTable('report_enrolments_daily', (t) => {
    day(t);
    t.integer('showroom_id').notNullable();
    count(t, 'enrolments');
    t.primary(['day', 'showroom_id']);
  });

  // Member visits (a day with a bill) by the day of the member's previous visit ('' for a
  // first one), at one showroom or (showroom_id 0) anywhere in the chain. Members active in
  // [F, T] = sum(members) over day in [F, T] with prev_day < F: each active member has exactly
  // one first visit in the range, and that is the one whose previous visit is before it.
  await knex.schema.createTable('report_visits_daily', (t) => {
    t.integer('showroom_id').notNullable();
    day(t);
    day(t, 'prev_day');
    count(t, 'members');
    t.primary(['showroom_id', 'day', 'prev_day']);
  });

  // A member's visits as a bit string: bit i (from the left) is day first_no + i, where days
  // are numbered from 1970-01-01 in the zone. With the running spend and bills by visit, the
  // visits, spend and bills of any range of days are two bit counts and two subscripts away,
  // so buying patterns over a year of a million members need no pass over the sales.
  const history = (t: Knex.CreateTableBuilder) => {
    t.integer('first_no').notNullable();
    day(t, 'first_day');
    day(t, 'last_day');
    t.integer('visits').notNullable();
    t.integer('bills').notNullable();
    t.bigInteger('spend_paise').notNullable();
    if (isPg) {
      t.specificType('visit_bits', 'varbit').notNullable();
      // Element j (from 0) is the total after the member's j-th visit day; element 0 is 0.
      t.specificType('spend_cum', 'bigint[]').notNullable();
      t.specificType('bills_cum', 'bigint[]').notNullable();
    } else {
      // SQLite: the bits as text of 0 and 1, the running totals as JSON arrays.
      t.text('visit_bits').notNullable();
      t.text('spend_cum').notNullable();
      t.text('bills_cum').notNullable();
    }
  };

  // Each member's history of purchases (gross, returns not deducted), for RFM and churn.
  await knex.schema.createTable('report_member_stats', (t) => {
    t.bigInteger('member_id').primary();
    history(t);
    t.integer('showrooms').notNullable();
    t.integer('last_showroom_id').notNullable();
  });

  // The same at each showroom the member bought at.
  await knex.schema.createTable('report_member_showrooms', (t) => {
    t.bigInteger('member_id').notNullable();
    t.integer('showroom_id').notNullable();
    history(t);
    t.primary(['member_id', 'showroom_id']);
    t.index(['showroom_id']);
  });
  if (isPg) {
    // Every bill rewrites its member's rows: room on each page keeps those updates HOT (no
    // index entries to add), which the ledger writer's speed depends on.
    await knex.raw('alter table report_member_stats set (fillfactor = 80)');
    await knex.raw('alter table report_member_showrooms set (fillfactor = 80)');
  }

  // Reports that count members over a range read sales by the time central recorded them.
  if (isPg) {
    await knex.raw(
      `create index sales_recorded_at_report on sales (recorded_at)
         include (member_id, showroom_id, amount_paise)`,
    );
  } else {
    await knex.raw(
      `create index sales_recorded_at_report
         on sales (recorded_at, member_id, showroom_id, amount_paise)`,
    );
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists sales_recorded_at_report');
  for (const table of [
    'report_member_showrooms',
    'report_member_stats',
    'report_visits_daily',
    'report_enrolments_daily',
    'report_bills_daily',
    'report_sales_daily',
    'report_points_daily',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex('meta').where('key', 'like', 'reports.%').delete();
}
