import { randomUUID } from 'node:crypto';
import type { Central } from '../server.ts';
import * as catalogue from '../db/catalogue-store.ts';
import { findShowroomId, insertStaff } from '../db/staff-store.ts';
import { hashRequest, type Actor } from '../ledger/writer.ts';
import { hashSecret } from '../staff/secrets.ts';
import type { SaleRequest } from '../../shared/protocol/api.ts';

/**
 * Sign-in names, passwords (central's API) and counter PINs of the demo chain; printed at start,
 * never used outside a demo. Each signs in at their own showroom's counters; the admin, who
 * belongs to no showroom, at every counter.
 */
export const DEMO_LOGINS = [
  {
    username: 'admin',
    password: 'demo-admin-2026',
    pin: '7777',
    role: 'admin',
    showroom: null,
    name: 'Head Office',
  },
  {
    username: 'mum.manager',
    password: 'demo-manager-2026',
    pin: '9999',
    role: 'manager',
    showroom: 'MUM-01',
    name: 'Priya Sharma',
  },
  {
    username: 'mum.cashier',
    password: 'demo-cashier-2026',
    pin: '1111',
    role: 'cashier',
    showroom: 'MUM-01',
    name: 'Rahul Verma',
  },
  {
    username: 'del.cashier',
    password: 'demo-cashier-2026',
    pin: '2222',
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

/**
 * The demo catalogue: EAN-13 barcode (GS1 India 890 for goods, ISBN 978 for books; check digits
 * valid), category and name as the counter shows it.
 */
export const DEMO_PRODUCTS: readonly { sku: string; categoryCode: string; name: string }[] = (
  [
    ['8901534640972', 'ELEC', 'Havells 1.5 sq mm FR wire 90 m'],
    ['8901302466339', 'ELEC', 'Havells 2.5 sq mm FR wire 90 m'],
    ['8902629923123', 'ELEC', 'Polycab 4 sq mm FR-LSH wire 90 m'],
    ['8903973669460', 'ELEC', 'Anchor Roma 6A switch'],
    ['8903164808944', 'ELEC', 'Anchor Roma 16A switch socket combined'],
    ['8904197222332', 'ELEC', 'Philips 9W LED bulb B22 cool day light'],
    ['8904819248658', 'ELEC', 'Philips 20W LED batten 4 ft'],
    ['8905226339205', 'ELEC', 'Syska 12W LED bulb, pack of 2'],
    ['8906590819355', 'ELEC', 'Legrand Myrius 32A DP MCB'],
    ['8907882204828', 'ELEC', 'Crompton 1200 mm ceiling fan HS Plus'],
    ['8908177844835', 'ELEC', 'Orient 400 mm pedestal fan Desert Storm'],
    ['8901781068710', 'ELTR', 'Samsung 43 in Crystal 4K UHD smart TV'],
    ['8902388163020', 'ELTR', 'boAt Rockerz 450 Bluetooth headphones'],
    ['8903150325820', 'ELTR', 'JBL Go 3 portable speaker'],
    ['8904215356421', 'ELTR', 'Mi Power Bank 3i 20000 mAh'],
    ['8905682029382', 'ELTR', 'SanDisk Ultra 64 GB microSD card'],
    ['8906661261168', 'ELTR', 'TP-Link Archer C6 Wi-Fi router'],
    ['8907193758362', 'ELTR', 'Logitech MK215 wireless keyboard and mouse'],
    ['8908423012414', 'ELTR', 'Zebronics Zeb-Thunder headphones'],
    ['8909221752946', 'ELTR', 'Redmi 13C 5G, 4 GB 128 GB'],
    ['8901839603108', 'APPL', 'Bajaj Rex 750W mixer grinder'],
    ['8902669780014', 'APPL', 'Prestige Iris 750W mixer grinder, 3 jars'],
    ['8903179336777', 'APPL', 'Philips HD9306 1.5 L electric kettle'],
    ['8904858939104', 'APPL', 'Pigeon Favourite induction cooktop 1800W'],
    ['8905266164171', 'APPL', 'Usha 1000W dry iron EI 1602'],
    ['8906399626260', 'APPL', 'Kent Grand Plus RO water purifier 8 L'],
    ['8907946411773', 'APPL', 'Bajaj Majesty 1603 T pop-up toaster'],
    ['8908942126616', 'APPL', 'Havells Instanio 3 L instant water heater'],
    ['8909882485191', 'APPL', 'Butterfly Jet Elite 750W mixer grinder'],
    ['8900183029831', 'APPL', 'Morphy Richards 25 L OTG oven'],
    ['9789357051361', 'BOOK', 'NCERT Physics Part I, Class 12'],
    ['9789357139847', 'BOOK', 'NCERT Mathematics, Class 10'],
    ['9789355159496', 'BOOK', 'NCERT Chemistry Part I, Class 11'],
    ['9789351519980', 'BOOK', 'Godaan by Premchand (Hindi)'],
    ['9789353318215', 'BOOK', 'Wings of Fire by A. P. J. Abdul Kalam'],
    ['9789351488453', 'BOOK', 'R. D. Sharma Mathematics, Class 9'],
    ['9789356837058', 'BOOK', 'Malgudi Days by R. K. Narayan'],
    ['9789352396436', 'BOOK', 'Oxford Student Atlas for India'],
    ['9789354036774', 'BOOK', 'Lucent General Knowledge'],
    ['9789355394996', 'BOOK', 'Panchatantra Stories for Children'],
  ] as const
).map(([sku, categoryCode, name]) => ({ sku, categoryCode, name }));

/** A demo product's barcode by the start of its name (the seed's own sales use them). */
function skuOf(name: string): string {
  const product = DEMO_PRODUCTS.find((p) => p.name.startsWith(name));
  if (!product) throw new Error(`no demo product ${name}`);
  return product.sku;
}

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
        pinHash: await hashSecret(login.pin),
        showroomId,
      },
      now,
    );
    staffIds.set(login.username, { id, showroomId });
  }
  const saved = await catalogue.upsertProducts(db, [...DEMO_PRODUCTS], now);
  if (!saved.ok) throw new Error('demo products name an unknown category');
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
    [{ sku: skuOf('Philips 9W'), categoryCode: 'ELEC', quantity: 6, amountPaise: 89_800 }],
    [
      { sku: skuOf('Bajaj Rex'), categoryCode: 'APPL', quantity: 1, amountPaise: 4_49_900 },
      { sku: skuOf('Godaan'), categoryCode: 'BOOK', quantity: 1, amountPaise: 29_900 },
    ],
    [{ sku: skuOf('Samsung 43'), categoryCode: 'ELTR', quantity: 1, amountPaise: 32_99_000 }],
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
