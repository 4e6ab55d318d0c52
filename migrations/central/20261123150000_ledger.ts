import type { Knex } from 'knex';

/** Tables whose rows are facts: once written, never updated nor deleted. */
const APPEND_ONLY = ['ledger_entries', 'sales', 'sale_lines', 'sale_returns', 'return_lines'];

export async function up(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === 'pg';

  await knex.schema.createTable('meta', (t) => {
    t.string('key', 64).primary();
    t.text('value').notNullable();
  });

  // One row: the head of the replication change sequence. Taking it is the last thing a
  // write transaction does, so sequence numbers commit in the order they are handed out.
  await knex.schema.createTable('change_seq', (t) => {
    t.integer('id').primary();
    t.bigInteger('head').notNullable();
  });
  await knex('change_seq').insert({ id: 1, head: 0 });

  await knex.schema.createTable('showrooms', (t) => {
    t.increments('id');
    t.string('code', 16).notNullable().unique();
    t.string('name', 120).notNullable();
    t.string('city', 80).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('staff', (t) => {
    t.increments('id');
    t.string('username', 64).notNullable().unique();
    t.string('name', 120).notNullable();
    t.string('role', 16).notNullable();
    t.text('password_hash').notNullable();
    t.text('pin_hash');
    t.integer('showroom_id').references('showrooms.id');
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.check(`role in ('cashier','manager','admin')`, [], 'staff_role_known');
  });

  await knex.schema.createTable('staff_sessions', (t) => {
    t.string('token_hash', 64).primary();
    t.integer('staff_id').notNullable().references('staff.id');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('members', (t) => {
    t.bigIncrements('id');
    t.string('mobile', 16).notNullable().unique();
    t.string('name', 120).notNullable();
    t.string('birthday', 10);
    t.string('anniversary', 10);
    t.string('email', 254);
    t.boolean('sms_consent').notNullable();
    t.timestamp('consent_at', { useTz: true }).notNullable();
    t.integer('consent_showroom_id').references('showrooms.id');
    t.integer('consent_staff_id').references('staff.id');
    t.integer('enrolled_showroom_id').references('showrooms.id');
    t.timestamp('enrolled_at', { useTz: true }).notNullable();
    t.bigInteger('balance').notNullable().defaultTo(0);
    t.string('tier', 16).notNullable().defaultTo('base');
    t.bigInteger('seq').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.index(['seq']);
  });

  await knex.schema.createTable('categories', (t) => {
    t.increments('id');
    t.string('code', 16).notNullable().unique();
    t.string('name', 120).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });

  await knex.schema.createTable('category_rates', (t) => {
    t.increments('id');
    t.integer('category_id').notNullable().references('categories.id');
    t.integer('points_per_100_rupees').notNullable();
    t.timestamp('effective_from', { useTz: true }).notNullable();
    t.integer('created_by').references('staff.id');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.unique(['category_id', 'effective_from']);
    t.check('points_per_100_rupees >= 0', [], 'rate_not_negative');
  });

  await knex.schema.createTable('sales', (t) => {
    t.bigIncrements('id');
    t.string('idempotency_key', 128).notNullable().unique();
    t.bigInteger('member_id').notNullable().references('members.id');
    t.integer('showroom_id').notNullable().references('showrooms.id');
    t.string('terminal_id', 64);
    t.integer('staff_id').references('staff.id');
    t.string('bill_number', 64).notNullable();
    t.timestamp('sold_at', { useTz: true }).notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.bigInteger('amount_paise').notNullable();
    t.integer('points').notNullable();
    t.unique(['showroom_id', 'bill_number']);
    t.index(['member_id', 'sold_at']);
  });

  await knex.schema.createTable('sale_lines', (t) => {
    t.bigIncrements('id');
    t.bigInteger('sale_id').notNullable().references('sales.id');
    t.integer('line_no').notNullable();
    t.string('sku', 64).notNullable();
    t.integer('category_id').notNullable().references('categories.id');
    t.integer('quantity').notNullable();
    t.bigInteger('amount_paise').notNullable();
    t.integer('points_per_100_rupees').notNullable();
    t.integer('points').notNullable();
    t.unique(['sale_id', 'line_no']);
  });

  await knex.schema.createTable('sale_returns', (t) => {
    t.bigIncrements('id');
    t.string('idempotency_key', 128).notNullable().unique();
    t.bigInteger('sale_id').notNullable().references('sales.id');
    t.integer('showroom_id').notNullable().references('showrooms.id');
    t.integer('staff_id').references('staff.id');
    t.string('reason', 500);
    t.timestamp('recorded_at', { useTz: true }).notNullable();
    t.bigInteger('amount_paise').notNullable();
    t.integer('points').notNullable();
    t.index(['sale_id']);
  });

  await knex.schema.createTable('return_lines', (t) => {
    t.bigIncrements('id');
    t.bigInteger('return_id').notNullable().references('sale_returns.id');
    t.bigInteger('sale_line_id').notNullable().references('sale_lines.id');
    t.integer('quantity').notNullable();
    t.bigInteger('amount_paise').notNullable();
    t.integer('points').notNullable();
    t.index(['sale_line_id']);
  });

  await knex.schema.createTable('ledger_entries', (t) => {
    t.bigIncrements('id');
    t.bigInteger('member_id').notNullable().references('members.id');
    t.string('kind', 8).notNullable();
    t.bigInteger('points').notNullable();
    t.bigInteger('balance_after').notNullable();
    t.bigInteger('sale_id').references('sales.id');
    t.bigInteger('return_id').references('sale_returns.id');
    t.bigInteger('refers_to_entry_id').references('ledger_entries.id');
    t.string('idempotency_key', 128).unique();
    t.integer('showroom_id').references('showrooms.id');
    t.string('terminal_id', 64);
    t.integer('staff_id').references('staff.id');
    t.string('reason', 500);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true });
    t.index(['member_id', 'id']);
    t.index(['created_at']);
    t.check(
      `kind in ('earn','redeem','reverse','adjust','expire','bonus')`,
      [],
      'ledger_kind_known',
    );
  });

  // Replays: the first answer to each idempotency key, so a retry gets it back unchanged.
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.string('key', 128).primary();
    t.string('operation', 16).notNullable();
    t.string('request_hash', 64).notNullable();
    t.integer('status').notNullable();
    t.text('response').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable();
  });

  for (const table of APPEND_ONLY) {
    if (isPg) {
      await knex.raw(`
        create or replace function forbid_change() returns trigger language plpgsql as $$
        begin
          raise exception '% is append-only: rows are never updated or deleted', tg_table_name;
        end $$`);
      await knex.raw(
        `create trigger ${table}_append_only before update or delete on ${table}
         for each row execute function forbid_change()`,
      );
    } else {
      for (const op of ['update', 'delete']) {
        await knex.raw(
          `create trigger ${table}_no_${op} before ${op} on ${table}
           begin select raise(abort, '${table} is append-only: rows are never updated or deleted'); end`,
        );
      }
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'idempotency_keys',
    'ledger_entries',
    'return_lines',
    'sale_returns',
    'sale_lines',
    'sales',
    'category_rates',
    'categories',
    'members',
    'staff_sessions',
    'staff',
    'showrooms',
    'change_seq',
    'meta',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
  if (knex.client.config.client === 'pg') await knex.raw('drop function if exists forbid_change()');
}
