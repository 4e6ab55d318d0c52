import { fromDbBool, fromDbTime, toDbTime, type Db } from './connect.ts';
import { bumpRulesRevision, readCatalogueVersion } from './rules-revision.ts';
import type { InTransaction } from './admin-store.ts';
import type { ProductRule } from '../../shared/protocol/sync.ts';

export async function listShowrooms(
  db: Db,
): Promise<{ code: string; name: string; city: string }[]> {
  return db.knex('showrooms').select('code', 'name', 'city').orderBy('code');
}

/** Adds a showroom (the terminals' rules list them); false if the code exists. */
export async function insertShowroom(
  db: Db,
  s: { code: string; name: string; city: string },
  at: Date,
  also?: InTransaction,
): Promise<boolean> {
  return db.knex.transaction(async (trx) => {
    const rows: unknown[] = await trx('showrooms')
      .insert({ ...s, created_at: toDbTime(db, at) })
      .onConflict('code')
      .ignore()
      .returning('id');
    if (rows.length > 0) await bumpRulesRevision(trx);
    if (rows.length > 0) await also?.(trx, undefined);
    return rows.length > 0;
  });
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
  also?: InTransaction,
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
    await bumpRulesRevision(trx);
    await also?.(trx, undefined);
    return true;
  });
}

/** Adds a rate from a date on; 'unknown' if no such category, 'exists' if one starts then. */
export async function insertRate(
  db: Db,
  r: { code: string; pointsPer100Rupees: number; effectiveFrom: Date; staffId: number },
  at: Date,
  also?: InTransaction<{ rateId: number }>,
): Promise<'ok' | 'unknown' | 'exists'> {
  return db.knex.transaction(async (trx) => {
    const category: { id: number } | undefined = await trx('categories')
      .where('code', r.code)
      .first('id');
    if (!category) return 'unknown';
    const rows: ({ id: number } | number)[] = await trx('category_rates')
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
    const [row] = rows;
    if (row === undefined) return 'exists';
    await bumpRulesRevision(trx);
    await also?.(trx, { rateId: typeof row === 'number' ? row : row.id });
    return 'ok';
  });
}

/** A product as the catalogue API shows it. */
export interface ProductRecord {
  sku: string;
  name: string;
  categoryCode: string;
  active: boolean;
  updatedAt: string;
}

/**
 * Creates or updates products by SKU, all or nothing. A product without `active` is created
 * active and keeps its state when it exists. Returns the SKUs whose category is unknown
 * (then nothing is written), or how many were created and updated.
 */
export async function upsertProducts(
  db: Db,
  products: { sku: string; name: string; categoryCode: string; active?: boolean | undefined }[],
  at: Date,
): Promise<
  | { ok: true; created: number; updated: number }
  | { ok: false; unknown: { index: number; sku: string; categoryCode: string }[] }
> {
  return db.knex.transaction(async (trx) => {
    const codes = [...new Set(products.map((p) => p.categoryCode))];
    const categories: { id: number; code: string }[] = await trx('categories')
      .whereIn('code', codes)
      .select('id', 'code');
    const idByCode = new Map(categories.map((c) => [c.code, c.id]));
    const unknown = products.flatMap((p, index) =>
      idByCode.has(p.categoryCode) ? [] : [{ index, sku: p.sku, categoryCode: p.categoryCode }],
    );
    if (unknown.length > 0) return { ok: false as const, unknown };
    // First, so that concurrent catalogue changes queue on this row rather than deadlock.
    await bumpRulesRevision(trx, { catalogue: true });
    const existing = new Set<string>();
    for (let i = 0; i < products.length; i += CHUNK) {
      const rows: { sku: string }[] = await trx('products')
        .whereIn(
          'sku',
          products.slice(i, i + CHUNK).map((p) => p.sku),
        )
        .select('sku');
      for (const r of rows) existing.add(r.sku);
    }
    const updatedAt = toDbTime(db, at);
    const rowOf = (p: (typeof products)[number]) => ({
      sku: p.sku,
      name: p.name,
      category_id: idByCode.get(p.categoryCode),
      active: p.active ?? true,
      updated_at: updatedAt,
    });
    // Two statements: with `active` given it is written; without, an existing row keeps its own.
    for (const [group, merge] of [
      [products.filter((p) => p.active !== undefined), ['name', 'category_id', 'active']],
      [products.filter((p) => p.active === undefined), ['name', 'category_id']],
    ] as const) {
      for (let i = 0; i < group.length; i += CHUNK) {
        await trx('products')
          .insert(group.slice(i, i + CHUNK).map(rowOf))
          .onConflict('sku')
          .merge([...merge, 'updated_at']);
      }
    }
    const updated = products.filter((p) => existing.has(p.sku)).length;
    return { ok: true as const, created: products.length - updated, updated };
  });
}

// Rows per statement: knex writes a multi-row insert on SQLite as a compound SELECT, which
// SQLite caps at 500 terms.
const CHUNK = 400;

/** Products, by SKU: of a category, and/or matching a text (name contains it, any case; or SKU starts with it). */
export async function listProducts(
  db: Db,
  filter: { category?: string | undefined; q?: string | undefined; limit: number },
): Promise<{ products: ProductRecord[]; truncated: boolean }> {
  const query = db
    .knex('products as p')
    .join('categories as c', 'c.id', 'p.category_id')
    .select('p.sku', 'p.name', 'c.code', 'p.active', 'p.updated_at')
    .orderBy('p.sku')
    .limit(filter.limit + 1);
  if (filter.category) void query.where('c.code', filter.category);
  const text = filter.q;
  if (text) {
    const escaped = text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
    void query.where((w) => {
      void w
        .whereRaw(`lower(p.name) like ? escape '\\'`, [`%${escaped}%`])
        .orWhereRaw(`lower(p.sku) like ? escape '\\'`, [`${escaped}%`]);
    });
  }
  const rows: {
    sku: string;
    name: string;
    code: string;
    active: boolean | number;
    updated_at: unknown;
  }[] = await query;
  return {
    products: rows.slice(0, filter.limit).map((r) => ({
      sku: r.sku,
      name: r.name,
      categoryCode: r.code,
      active: fromDbBool(r.active),
      updatedAt: fromDbTime(r.updated_at),
    })),
    truncated: rows.length > filter.limit,
  };
}

/**
 * One page of the terminals' catalogue: active products with a SKU after `afterSku`, in SKU
 * order (keyset on the unique index), with the catalogue's version read in the same snapshot.
 */
export async function cataloguePage(
  db: Db,
  afterSku: string | undefined,
  limit: number,
): Promise<{ version: string; products: ProductRule[]; hasMore: boolean }> {
  return db.knex.transaction(
    async (trx) => {
      const query = trx('products as p')
        .join('categories as c', 'c.id', 'p.category_id')
        .where('p.active', true)
        .select('p.sku', 'p.name', 'c.code')
        .orderBy('p.sku')
        .limit(limit + 1);
      if (afterSku !== undefined) void query.where('p.sku', '>', afterSku);
      const rows: { sku: string; name: string; code: string }[] = await query;
      return {
        version: await readCatalogueVersion(trx),
        products: rows
          .slice(0, limit)
          .map((r) => ({ sku: r.sku, name: r.name, categoryCode: r.code })),
        hasMore: rows.length > limit,
      };
    },
    db.dialect === 'pg' ? { isolationLevel: 'repeatable read', readOnly: true } : {},
  );
}
