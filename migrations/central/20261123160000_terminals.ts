import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('terminals', (t) => {
    t.string('id', 64).primary();
    t.integer('showroom_id').notNullable().references('showrooms.id');
    t.string('name', 120).notNullable();
    t.string('secret_hash', 64).notNullable();
    t.timestamp('paired_at', { useTz: true }).notNullable();
    t.timestamp('revoked_at', { useTz: true });
    t.timestamp('last_seen_at', { useTz: true });
    t.string('app_version', 40);
  });
  await knex.schema.createTable('pairing_codes', (t) => {
    t.string('code_hash', 64).primary();
    t.integer('showroom_id').notNullable().references('showrooms.id');
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('used_at', { useTz: true });
    t.string('terminal_id', 64);
  });
  if (knex.client.config.client === 'pg') {
    // Where @socket.io/postgres-adapter keeps pushes too large for a NOTIFY (its documented table).
    await knex.schema.createTable('socket_io_attachments', (t) => {
      t.bigIncrements('id');
      t.timestamp('created_at', { useTz: true }).defaultTo(knex.fn.now());
      t.binary('payload');
    });
  }
  // A database's identity for replication: a restore from backup gets a new epoch
  // (`npm run central -- new-epoch`), and every terminal then rebuilds its cache.
  await knex('meta').insert({ key: 'epoch', value: randomUUID() });
}

export async function down(knex: Knex): Promise<void> {
  await knex('meta').where('key', 'epoch').del();
  await knex.schema.dropTableIfExists('socket_io_attachments');
  await knex.schema.dropTableIfExists('pairing_codes');
  await knex.schema.dropTableIfExists('terminals');
}
