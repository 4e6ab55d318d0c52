import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Locks in the writer's order: the writer locks members (FOR UPDATE), then change_seq, so
  // the backfill below takes members first too. A central still running during a rolling
  // upgrade then makes this wait, never deadlock. EXCLUSIVE lets readers (pulls) on and keeps
  // writers out until this commits (the ALTER below takes a stronger lock still).
  if (knex.client.config.client === 'pg') await knex.raw('lock table members in exclusive mode');

  // The chain's catalogue: a scanned SKU (usually an EAN-13) becomes a bill line with its
  // category. Terminals fetch it page by page (catalogue:pull), apart from the rules.
  await knex.schema.createTable('products', (t) => {
    t.increments('id');
    t.string('sku', 64).notNullable().unique();
    t.string('name', 120).notNullable();
    t.integer('category_id').notNullable().references('categories.id');
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('updated_at', { useTz: true }).notNullable();
  });

  // Bumped by every transaction that changes the terminals' rules, so a heartbeat reads one
  // value instead of the rules; and the catalogue's version, renewed with every product change.
  await knex('meta').insert([
    { key: 'rules_revision', value: '1' },
    { key: 'catalogue_version', value: randomBytes(8).toString('hex') },
  ]);

  // A member's latest sale anywhere (replicated state: it changes the member's change number).
  await knex.schema.alterTable('members', (t) => {
    t.timestamp('last_visit_at', { useTz: true });
  });

  // Members who already bought get their last visit, under new change numbers taken as the
  // writer takes them (members locked above, change_seq now), so every terminal's next pull
  // brings the new column's value.
  const counted: { n: number | string }[] = await knex('sales').countDistinct({ n: 'member_id' });
  const n = Number(counted[0]?.n ?? 0);
  if (n === 0) return;
  const taken: unknown = await knex.raw(
    'update change_seq set head = head + ? where id = 1 returning head',
    [n],
  );
  const rows = Array.isArray(taken) ? taken : (taken as { rows: unknown[] }).rows;
  const head = Number((rows[0] as { head: number | string } | undefined)?.head);
  await knex.raw(
    `update members set last_visit_at = v.at, seq = ? + v.n
       from (select member_id, max(sold_at) as at, row_number() over (order by member_id) as n
               from sales group by member_id) as v
      where members.id = v.member_id`,
    [head - n],
  );
}

export async function down(knex: Knex): Promise<void> {
  // Raw, not knex's dropColumn: on SQLite that copies the table and loses the expression indexes.
  await knex.raw('alter table members drop column last_visit_at');
  await knex('meta').whereIn('key', ['rules_revision', 'catalogue_version']).del();
  await knex.schema.dropTableIfExists('products');
}
