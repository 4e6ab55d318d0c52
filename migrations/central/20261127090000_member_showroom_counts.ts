import type { Knex } from 'knex';

/**
 * Each member's number of showrooms on each of their report_member_showrooms rows. A member
 * with one showroom (nine in ten) cannot be counted twice by a filter of several showrooms, so
 * the reports merge visits only for the others, found by the partial index.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('report_member_showrooms', (t) => {
    t.integer('member_showrooms').notNullable().defaultTo(1);
  });
  await knex.raw(
    `update report_member_showrooms set member_showrooms = c.n
       from (select member_id, count(*) as n from report_member_showrooms
              group by member_id having count(*) > 1) c
      where c.member_id = report_member_showrooms.member_id`,
  );
  await knex.raw(
    `create index report_member_showrooms_many on report_member_showrooms (showroom_id, member_id)
      where member_showrooms > 1`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists report_member_showrooms_many');
  await knex.schema.alterTable('report_member_showrooms', (t) => {
    t.dropColumn('member_showrooms');
  });
}
