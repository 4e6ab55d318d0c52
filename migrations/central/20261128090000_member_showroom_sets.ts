import type { Knex } from 'knex';

/**
 * Each member's set of showrooms, sorted: report_member_stats.showroom_ids, and the same on each
 * of the member's report_member_showrooms rows (member_showroom_ids). A report filtered by
 * several showrooms reads a member whose showrooms all lie inside the filter from their chain
 * history, and groups showroom by showroom only the rows of members who also bought outside it
 * (PostgreSQL: int[] with <@; SQLite: a JSON array, tested by report_subset).
 */
export async function up(knex: Knex): Promise<void> {
  const isPg = knex.client.config.client === 'pg';
  const set = (t: Knex.AlterTableBuilder, name: string) =>
    isPg
      ? t.specificType(name, 'int[]').notNullable().defaultTo(knex.raw(`'{}'::int[]`))
      : t.text(name).notNullable().defaultTo('[]');
  await knex.schema.alterTable('report_member_stats', (t) => {
    set(t, 'showroom_ids');
  });
  await knex.schema.alterTable('report_member_showrooms', (t) => {
    set(t, 'member_showroom_ids');
  });
  if (isPg) {
    // Nine members in ten have one showroom: their set needs no grouping.
    await knex.raw(
      `update report_member_stats set showroom_ids = array[last_showroom_id] where showrooms = 1`,
    );
    await knex.raw(
      `update report_member_showrooms set member_showroom_ids = array[showroom_id]
        where member_showrooms = 1`,
    );
    const many = `select member_id, array_agg(showroom_id order by showroom_id) as ids
                    from report_member_showrooms where member_showrooms > 1 group by member_id`;
    await knex.raw(
      `update report_member_stats set showroom_ids = c.ids from (${many}) c
        where c.member_id = report_member_stats.member_id`,
    );
    await knex.raw(
      `update report_member_showrooms set member_showroom_ids = c.ids from (${many}) c
        where c.member_id = report_member_showrooms.member_id`,
    );
    return;
  }
  const setOf = (member: string) =>
    `(select json_group_array(showroom_id order by showroom_id) from report_member_showrooms x
       where x.member_id = ${member})`;
  await knex.raw(
    `update report_member_stats set showroom_ids = ${setOf('report_member_stats.member_id')}`,
  );
  await knex.raw(
    `update report_member_showrooms
        set member_showroom_ids = ${setOf('report_member_showrooms.member_id')}`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('report_member_showrooms', (t) => {
    t.dropColumn('member_showroom_ids');
  });
  await knex.schema.alterTable('report_member_stats', (t) => {
    t.dropColumn('showroom_ids');
  });
}
