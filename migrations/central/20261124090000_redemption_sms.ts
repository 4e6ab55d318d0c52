import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Program settings as validated JSON documents (key 'program'); defaults live in code, so a
  // new setting needs no migration and an empty table means "all defaults".
  await knex.schema.createTable('settings', (t) => {
    t.string('key', 64).primary();
    t.text('value').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable();
    t.integer('updated_by').references('staff.id');
  });

  // A redemption's life: awaiting-otp → confirmed → (cancelled), or awaiting-otp → abandoned.
  await knex.schema.createTable('redemptions', (t) => {
    t.bigIncrements('id');
    t.bigInteger('member_id').notNullable().references('members.id');
    t.integer('showroom_id').notNullable().references('showrooms.id');
    t.string('terminal_id', 64).notNullable();
    t.string('bill_number', 64).notNullable();
    t.bigInteger('bill_amount_paise').notNullable();
    t.integer('points').notNullable();
    t.bigInteger('value_paise').notNullable();
    t.string('status', 16).notNullable();
    t.string('abandoned_reason', 32);
    t.timestamp('requested_at', { useTz: true }).notNullable();
    t.timestamp('confirmed_at', { useTz: true });
    t.timestamp('cancelled_at', { useTz: true });
    t.bigInteger('balance_after');
    t.index(['member_id', 'requested_at']);
    t.index(['showroom_id', 'bill_number']);
    t.check(
      `status in ('awaiting-otp','confirmed','cancelled','abandoned')`,
      [],
      'redemption_status_known',
    );
    t.check('points > 0 and value_paise > 0', [], 'redemption_positive');
  });

  // One-time passwords: only a keyed hash of the code is kept. At most one live OTP per member
  // (a partial unique index), so two counters can never hold OTPs for one member at once.
  await knex.schema.createTable('otps', (t) => {
    t.bigIncrements('id');
    t.string('purpose', 16).notNullable();
    t.bigInteger('member_id').notNullable().references('members.id');
    t.bigInteger('redemption_id').references('redemptions.id');
    t.string('terminal_id', 64).notNullable();
    t.string('code_hash', 64).notNullable();
    t.string('state', 12).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.integer('sends').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('last_sent_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('closed_at', { useTz: true });
    t.bigInteger('outbox_id');
    t.index(['terminal_id', 'created_at']);
    t.index(['member_id', 'created_at']);
    t.check(`state in ('live','used','dead','expired','superseded')`, [], 'otp_state_known');
  });
  await knex.raw(
    `create unique index otps_one_live_per_member on otps (member_id) where state = 'live'`,
  );

  // Every SMS, written in the transaction of the change that causes it, then sent by a worker.
  await knex.schema.createTable('sms_outbox', (t) => {
    t.bigIncrements('id');
    t.string('kind', 16).notNullable();
    // Makes "exactly once" a constraint: e.g. birthday:<member>:<year>, earn:<sale key>.
    t.string('dedupe_key', 160).notNullable().unique();
    t.bigInteger('member_id').references('members.id');
    t.string('mobile', 16).notNullable();
    t.string('template', 40).notNullable();
    // The text as sent, except for an OTP: its code is replaced by ****** here, and the real
    // variables wait encrypted in `sealed` until sent, then are wiped.
    t.text('text').notNullable();
    t.text('sealed');
    t.text('variables').notNullable();
    t.boolean('unicode').notNullable();
    t.integer('segments').notNullable();
    t.string('status', 12).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable();
    t.timestamp('next_attempt_at', { useTz: true }).notNullable();
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.timestamp('claimed_at', { useTz: true });
    t.string('claimed_by', 64);
    t.timestamp('sent_at', { useTz: true });
    t.string('provider', 16);
    t.string('provider_message_id', 128);
    t.string('last_error', 400);
    t.string('terminal_id', 64);
    t.bigInteger('redemption_id');
    t.index(['status', 'next_attempt_at']);
    t.index(['created_at']);
    t.check(
      `status in ('queued','sending','retrying','sent','failed','expired','refused','unknown')`,
      [],
      'sms_status_known',
    );
  });

  // Birthday and anniversary lookups by month-day over a million members, once a day.
  await knex.raw(`create index members_birthday_md on members (substr(birthday, 6, 5))`);
  await knex.raw(`create index members_anniversary_md on members (substr(anniversary, 6, 5))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists members_anniversary_md');
  await knex.raw('drop index if exists members_birthday_md');
  for (const table of ['sms_outbox', 'otps', 'redemptions', 'settings']) {
    await knex.schema.dropTableIfExists(table);
  }
}
