import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === 'pg';

  // Who changed what in the console (or through the API), when, and the record before and
  // after: rows are facts, never updated nor deleted (triggers below refuse it).
  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.timestamp('at', { useTz: true }).notNullable();
    t.integer('staff_id').references('staff.id');
    t.string('username', 64).notNullable();
    t.string('role', 16).notNullable();
    t.string('action', 64).notNullable();
    t.string('target_type', 32).notNullable();
    t.string('target_id', 64).notNullable();
    t.text('before');
    t.text('after');
    t.string('ip', 64);
    t.index(['at']);
    t.index(['target_type', 'target_id', 'id']);
  });
  if (isPg) {
    // forbid_change() is the ledger migration's; truncation is refused too.
    await knex.raw(
      `create trigger audit_log_append_only before update or delete on audit_log
       for each row execute function forbid_change()`,
    );
    await knex.raw(
      `create trigger audit_log_no_truncate before truncate on audit_log
       for each statement execute function forbid_change()`,
    );
  } else {
    for (const op of ['update', 'delete']) {
      await knex.raw(
        `create trigger audit_log_no_${op} before ${op} on audit_log
         begin select raise(abort, 'audit_log is append-only: rows are never updated or deleted'); end`,
      );
    }
  }

  // A console session lives in a cookie and carries a CSRF token (stored as a hash); an API
  // session (Bearer token) has none.
  await knex.schema.alterTable('staff_sessions', (t) => {
    t.string('csrf_hash', 64);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('alter table staff_sessions drop column csrf_hash');
  await knex.schema.dropTableIfExists('audit_log');
}
