import { randomUUID } from 'node:crypto';
import type { Central } from '../server.ts';
import * as catalogue from '../db/catalogue-store.ts';
import { findShowroomId, insertStaff } from '../db/staff-store.ts';
import { hashRequest, type Actor } from '../ledger/writer.ts';
import { hashSecret } from '../staff/secrets.ts';
import type { SaleRequest } from '../../shared/protocol/api.ts';

/** Sign-in names and passwords of the demo chain; printed at start, never used outside a demo. */
export const DEMO_LOGINS = [
  {
    username: 'admin',
    password: 'demo-admin-2026',
    role: 'admin',
    showroom: null,
    name: 'Head Office',
  },
  {
    username: 'mum.manager',
    password: 'demo-manager-2026',
    role: 'manager',
    showroom: 'MUM-01',
    name: 'Priya Sharma',
  },
  {
    username: 'mum.cashier',
    password: 'demo-cashier-2026',
    role: 'cashier',
    showroom: 'MUM-01',
    name: 'Rahul Verma',
  },
  {
    username: 'del.cashier',
    password: 'demo-cashier-2026',
    role: 'cashier',
    showroom: 'DEL-01',
    name: 'अमित सिंह',
  },
] as const;

const SHOWROOMS = [
  { code: 'MUM-01', name: 'Andheri West', city: 'Mumbai' },
  { code: 'DEL-01', name: 'Karol Bagh', city: 'New Delhi' },
  { code: 'BLR-01', name: 'Koramangala', city: 'Bengaluru' },
];

const CATEGORIES = [
  { code: 'ELEC', name: 'Electrical (wires, switches, lighting)', pointsPer100Rupees: 2 },
  { code: 'ELTR', name: 'Electronics', pointsPer100Rupees: 1 },
  { code: 'APPL', name: 'Home appliances', pointsPer100Rupees: 1 },
  { code: 'BOOK', name: 'Books', pointsPer100Rupees: 5 },
];

const MEMBERS = [
  { mobile: '+919876543210', name: 'राजेश कुमार', birthday: '1985-03-14', showroom: 'DEL-01' },
  { mobile: '+919812345678', name: 'Anita Desai', birthday: '1990-11-23', showroom: 'MUM-01' },
  {
    mobile: '+917000012345',
    name: 'Mohammed Iqbal',
    anniversary: '2012-02-10',
    showroom: 'MUM-01',
  },
  { mobile: '+918888800001', name: 'Lakshmi Narayanan', showroom: 'BLR-01' },
  { mobile: '+916000098765', name: 'सुनीता देवी', showroom: 'DEL-01' },
];

/** True when the database has no showroom yet. */
export async function isEmpty(central: Central): Promise<boolean> {
  const row: { n?: number | string } | undefined = await central.db
    .knex('showrooms')
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0) === 0;
}

/** Fills an empty database with a small demo chain: showrooms, staff, categories, members, sales. */
export async function seedDemo(central: Central): Promise<void> {
  const { db, writer, clock } = central;
  const now = clock.now();
  const ratesFrom = new Date(now.getTime() - 90 * 86_400_000);
  for (const s of SHOWROOMS) await catalogue.insertShowroom(db, s, now);
  for (const c of CATEGORIES)
    await catalogue.insertCategory(db, { ...c, effectiveFrom: ratesFrom, staffId: null }, now);
  const staffIds = new Map<string, { id: number; showroomId: number | null }>();
  for (const login of DEMO_LOGINS) {
    const showroomId = login.showroom ? ((await findShowroomId(db, login.showroom)) ?? null) : null;
    const id = await insertStaff(
      db,
      {
        username: login.username,
        name: login.name,
        role: login.role,
        passwordHash: await hashSecret(login.password),
        pinHash: await hashSecret('1234'),
        showroomId,
      },
      now,
    );
    staffIds.set(login.username, { id, showroomId });
  }
  const admin = staffIds.get('admin');
  if (!admin) throw new Error('demo admin missing');
  const actor: Actor = { staffId: admin.id, role: 'admin', showroomId: null };
  for (const m of MEMBERS) {
    await writer.write({
      kind: 'enrol',
      actor,
      request: {
        mobile: m.mobile,
        name: m.name,
        smsConsent: true,
        showroomCode: m.showroom,
        ...(m.birthday ? { birthday: m.birthday } : {}),
        ...(m.anniversary ? { anniversary: m.anniversary } : {}),
      },
    });
  }
  const lines: SaleRequest['lines'][] = [
    [{ sku: 'LED-9W-6PK', categoryCode: 'ELEC', quantity: 2, amountPaise: 89_800 }],
    [
      { sku: 'MIXER-750W', categoryCode: 'APPL', quantity: 1, amountPaise: 4_49_900 },
      { sku: 'BK-GODAAN', categoryCode: 'BOOK', quantity: 1, amountPaise: 29_900 },
    ],
    [{ sku: 'TV-43-4K', categoryCode: 'ELTR', quantity: 1, amountPaise: 32_99_000 }],
  ];
  let bill = 1000;
  for (const [i, m] of MEMBERS.entries()) {
    for (const [j, saleLines] of lines.entries()) {
      if ((i + j) % 2 === 1) continue;
      bill += 1;
      const sale: SaleRequest = {
        showroomCode: m.showroom,
        billNumber: `${m.showroom}/${bill}`,
        mobile: m.mobile,
        soldAt: new Date(now.getTime() - (20 - i * 3 - j) * 86_400_000).toISOString(),
        lines: saleLines,
      };
      await writer.write({
        kind: 'sale',
        key: randomUUID(),
        requestHash: hashRequest(sale),
        sale,
        actor,
      });
    }
  }
}
