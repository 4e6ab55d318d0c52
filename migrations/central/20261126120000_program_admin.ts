import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Sales by time, chain-wide: the rate-change preview (and period reports) read one month of
  // sales and join their lines; with the id in the index PostgreSQL need not visit the table.
  await knex.raw('create index if not exists sales_sold_at_id on sales (sold_at, id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists sales_sold_at_id');
}
