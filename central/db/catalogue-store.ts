import { fromDbTime, toDbTime, type Db } from './connect.ts';

export async function listShowrooms(
  db: Db,
): Promise<{ code: string; name: string; city: string }[]> {
  return db.knex('showrooms').select('code', 'name', 'city').orderBy('code');
}

export async function insertShowroom(
  db: Db,
  s: { code: string; name: string; city: string },
  at: Date,
): Promise<boolean> {
  const rows: unknown[] = await db
    .knex('showrooms')
    .insert({ ...s, created_at: toDbTime(db, at) })
    .onConflict('code')
    .ignore()
    .returning('id');
  return rows.length > 0;
}

export interface CategoryWithRates {
  code: string;
  name: string;
  rates: { pointsPer100Rupees: number; effectiveFrom: string }[];
}

export async function listCategories(db: Db): Promise<CategoryWithRates[]> {
  const rows: {
    code: string;
    name: string;
    points_per_100_rupees: number | null;
    effective_from: unknown;
  }[] = await db
    .knex('categories as c')
    .leftJoin('category_rates as r', 'r.category_id', 'c.id')
    .select('c.code', 'c.name', 'r.points_per_100_rupees', 'r.effective_from')
    .orderBy(['c.code', 'r.effective_from']);
  const byCode = new Map<string, CategoryWithRates>();
  for (const r of rows) {
    let category = byCode.get(r.code);
    if (!category) {
      category = { code: r.code, name: r.name, rates: [] };
      byCode.set(r.code, category);
    }
    if (r.points_per_100_rupees !== null) {
      category.rates.push({
        pointsPer100Rupees: r.points_per_100_rupees,
        effectiveFrom: fromDbTime(r.effective_from),
      });
    }
  }
  return [...byCode.values()];
}

/** Creates a category with its first rate; false if the code exists. */
export async function insertCategory(
  db: Db,
  c: {
    code: string;
    name: string;
    pointsPer100Rupees: number;
    effectiveFrom: Date;
    staffId: number | null;
  },
  at: Date,
): Promise<boolean> {
  return db.knex.transaction(async (trx) => {
    const rows: { id: number }[] = await trx('categories')
      .insert({ code: c.code, name: c.name, created_at: toDbTime(db, at) })
      .onConflict('code')
      .ignore()
      .returning('id');
    const id = rows[0]?.id;
    if (id === undefined) return false;
    await trx('category_rates').insert({
      category_id: id,
      points_per_100_rupees: c.pointsPer100Rupees,
      effective_from: toDbTime(db, c.effectiveFrom),
      created_by: c.staffId,
      created_at: toDbTime(db, at),
    });
    return true;
  });
}

/** Adds a rate from a date on; 'unknown' if no such category, 'exists' if one starts then. */
export async function insertRate(
  db: Db,
  r: { code: string; pointsPer100Rupees: number; effectiveFrom: Date; staffId: number },
  at: Date,
): Promise<'ok' | 'unknown' | 'exists'> {
  const category: { id: number } | undefined = await db
    .knex('categories')
    .where('code', r.code)
    .first('id');
  if (!category) return 'unknown';
  const rows: unknown[] = await db
    .knex('category_rates')
    .insert({
      category_id: category.id,
      points_per_100_rupees: r.pointsPer100Rupees,
      effective_from: toDbTime(db, r.effectiveFrom),
      created_by: r.staffId,
      created_at: toDbTime(db, at),
    })
    .onConflict(['category_id', 'effective_from'])
    .ignore()
    .returning('id');
  return rows.length > 0 ? 'ok' : 'exists';
}
