import type { SaleResult } from '../../shared/protocol/api.ts';
import { fromDbTime, toDbTime, type Db } from './connect.ts';
import { mergeGroupIds } from './ledger-store.ts';

export type SaleView = Omit<SaleResult, 'balanceAfter'> & {
  returnedAmountPaise: number;
  returnedPoints: number;
};

interface SaleRow {
  id: number;
  member_id: number;
  bill_number: string;
  showroom_code: string;
  sold_at: unknown;
  recorded_at: unknown;
  amount_paise: number;
  points: number;
}

/** Sales with their lines and what has come back of them, newest first. */
async function loadSales(
  db: Db,
  where: (q: ReturnType<typeof base>) => unknown,
): Promise<SaleView[]> {
  const q = base(db);
  where(q);
  const sales: SaleRow[] = await q;
  if (sales.length === 0) return [];
  const ids = sales.map((s) => s.id);
  const lines: {
    sale_id: number;
    line_no: number;
    sku: string;
    code: string;
    quantity: number;
    amount_paise: number;
    points_per_100_rupees: number;
    points: number;
  }[] = await db
    .knex('sale_lines as l')
    .join('categories as c', 'c.id', 'l.category_id')
    .whereIn('l.sale_id', ids)
    .select(
      'l.sale_id',
      'l.line_no',
      'l.sku',
      'c.code',
      'l.quantity',
      'l.amount_paise',
      'l.points_per_100_rupees',
      'l.points',
    )
    .orderBy(['l.sale_id', 'l.line_no']);
  const returned: {
    sale_id: number;
    amount: number | string | null;
    points: number | string | null;
  }[] = await db
    .knex('sale_returns')
    .whereIn('sale_id', ids)
    .groupBy('sale_id')
    .select('sale_id')
    .sum({ amount: 'amount_paise', points: 'points' });
  const returnedBySale = new Map(returned.map((r) => [r.sale_id, r]));
  return sales.map((s) => ({
    saleId: s.id,
    memberId: s.member_id,
    billNumber: s.bill_number,
    showroomCode: s.showroom_code,
    soldAt: fromDbTime(s.sold_at),
    recordedAt: fromDbTime(s.recorded_at),
    amountPaise: s.amount_paise,
    points: s.points,
    lines: lines
      .filter((l) => l.sale_id === s.id)
      .map((l) => ({
        lineNo: l.line_no,
        sku: l.sku,
        categoryCode: l.code,
        quantity: l.quantity,
        amountPaise: l.amount_paise,
        pointsPer100Rupees: l.points_per_100_rupees,
        points: l.points,
      })),
    returnedAmountPaise: Number(returnedBySale.get(s.id)?.amount ?? 0),
    returnedPoints: Number(returnedBySale.get(s.id)?.points ?? 0),
  }));
}

function base(db: Db) {
  return db
    .knex('sales as sa')
    .join('showrooms as s', 's.id', 'sa.showroom_id')
    .select(
      'sa.id',
      'sa.member_id',
      'sa.bill_number',
      's.code as showroom_code',
      'sa.sold_at',
      'sa.recorded_at',
      'sa.amount_paise',
      'sa.points',
    )
    .orderBy('sa.sold_at', 'desc')
    .orderBy('sa.id', 'desc');
}

export async function findSale(db: Db, id: number): Promise<SaleView | undefined> {
  const [sale] = await loadSales(db, (q) => q.where('sa.id', id));
  return sale;
}

export async function memberSales(
  db: Db,
  memberId: number,
  from: Date,
  to: Date,
): Promise<SaleView[]> {
  // A member's purchases include those of the records merged into it.
  const ids = await mergeGroupIds(db.knex, memberId);
  return loadSales(db, (q) =>
    q
      .whereIn('sa.member_id', ids)
      .andWhere('sa.sold_at', '>=', toDbTime(db, from))
      .andWhere('sa.sold_at', '<', toDbTime(db, to))
      .limit(1000),
  );
}
