import type { Knex } from 'knex';

/** meta key recording that this migration created pg_trgm (so its down drops it, and only then). */
const TRGM_MARK = 'member_admin_created_pg_trgm';

export async function up(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === 'pg';

  // A member merged into another keeps its row (its ledger and sales still name it) and points
  // at the member that now holds its history. Always one step: a later merge of the target
  // re-points the members merged into it.
  if (isPg) {
    await knex.raw('alter table members add column merged_into_id bigint references members (id)');
  } else {
    // SQLite adds a column with a reference only by rebuilding the table; the writer keeps it right.
    await knex.raw('alter table members add column merged_into_id integer');
  }
  await knex.raw(
    'create index members_merged_into on members (merged_into_id) where merged_into_id is not null',
  );

  // Member search in the console: the last digits of a mobile, and the start of the name or of
  // a word in it, in any case.
  if (isPg) {
    await knex.raw(
      'create index members_mobile_reversed on members (reverse(mobile) text_pattern_ops)',
    );
    // In byte order ("C"): the btree serves both `like 'raj%'` and the order of the answer,
    // so a common prefix reads 21 rows, not every match.
    await knex.raw('create index members_name_lower on members ((lower(name) collate "C"), id)');
    // pg_trgm (contrib, trusted since PostgreSQL 13) finds a word inside a name; without it the
    // search still works, by scanning.
    const had = await hasTrgm(knex);
    if (!had) {
      try {
        await knex.transaction(async (trx) => {
          await trx.raw('create extension if not exists pg_trgm');
        });
        await knex('meta').insert({ key: TRGM_MARK, value: 'yes' });
      } catch {
        // Not installed on this server: the word search scans instead.
      }
    }
    if (await hasTrgm(knex)) {
      await knex.raw(
        'create index members_name_trgm on members using gin (lower(name) gin_trgm_ops)',
      );
    }
  } else {
    await knex.raw('create index members_mobile_last4 on members (substr(mobile, -4))');
    await knex.raw('create index members_name_lower on members (lower(name), id)');
  }

  // One row per merge: a fact, never changed.
  await knex.schema.createTable('member_merges', (t) => {
    t.bigIncrements('id');
    t.bigInteger('source_member_id').notNullable().unique().references('members.id');
    t.bigInteger('target_member_id').notNullable().references('members.id');
    t.bigInteger('points_moved').notNullable();
    t.string('reason', 500).notNullable();
    t.integer('staff_id').references('staff.id');
    t.timestamp('merged_at', { useTz: true }).notNullable();
    t.index(['target_member_id']);
  });

  // A change of mobile: a code to the old number and one to the new, kept only as keyed hashes.
  await knex.schema.createTable('mobile_changes', (t) => {
    t.bigIncrements('id');
    t.bigInteger('member_id').notNullable().references('members.id');
    t.string('old_mobile', 16).notNullable();
    t.string('new_mobile', 16).notNullable();
    t.string('status', 16).notNullable();
    t.string('old_code_hash', 64).notNullable();
    t.string('new_code_hash', 64).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('sends').notNullable().defaultTo(1);
    t.integer('staff_id').references('staff.id');
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.timestamp('last_sent_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('confirmed_at', { useTz: true });
    t.timestamp('closed_at', { useTz: true });
    t.bigInteger('old_outbox_id');
    t.bigInteger('new_outbox_id');
    t.index(['member_id', 'requested_at']);
    t.check(
      `status in ('awaiting-otp','confirmed','cancelled','expired','failed')`,
      [],
      'mobile_change_status_known',
    );
  });
  await knex.raw(
    `create unique index mobile_changes_one_open on mobile_changes (member_id) where status = 'awaiting-otp'`,
  );
  // A sale made before a change of number and sent later (a counter's outbox) still earns for
  // the member who held the number then.
  await knex.raw(
    `create index mobile_changes_old_mobile on mobile_changes (old_mobile, confirmed_at) where status = 'confirmed'`,
  );

  if (isPg) {
    await knex.raw(
      `create trigger member_merges_append_only before update or delete on member_merges
       for each row execute function forbid_change()`,
    );
  } else {
    for (const op of ['update', 'delete']) {
      await knex.raw(
        `create trigger member_merges_no_${op} before ${op} on member_merges
         begin select raise(abort, 'member_merges is append-only: rows are never updated or deleted'); end`,
      );
    }
  }
}

export async function down(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === 'pg';
  await knex.schema.dropTableIfExists('mobile_changes');
  await knex.schema.dropTableIfExists('member_merges');
  for (const index of [
    'members_name_trgm',
    'members_name_lower',
    'members_mobile_reversed',
    'members_mobile_last4',
    'members_merged_into',
  ]) {
    await knex.raw(`drop index if exists ${index}`);
  }
  await knex.raw('alter table members drop column merged_into_id');
  if (isPg) {
    const mark: { value: string } | undefined = await knex('meta')
      .where('key', TRGM_MARK)
      .first('value');
    if (mark) {
      await knex.raw('drop extension if exists pg_trgm');
      await knex('meta').where('key', TRGM_MARK).delete();
    }
  }
}

async function hasTrgm(knex: Knex): Promise<boolean> {
  const result: { rows: unknown[] } = await knex.raw(
    `select 1 from pg_extension where extname = 'pg_trgm'`,
  );
  return result.rows.length > 0;
}
