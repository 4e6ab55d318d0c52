import fs from 'node:fs';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { toDbTime, type Db } from '../db/connect.ts';
import { bumpRulesRevision } from '../db/rules-revision.ts';
import { hashToken } from '../staff/secrets.ts';

const META_KEY = 'console_setup_hash';
/** File in DATA_DIR holding the code, for an IT person who missed the console output. */
export const SETUP_CODE_FILE = 'setup-code';
// No 0/O or 1/I/L: the code is read off a screen and typed.
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** Whether the chain has no active admin yet (a new, empty database). */
export async function isSetupNeeded(q: Knex | Knex.Transaction): Promise<boolean> {
  const row: { id: number } | undefined = await q('staff')
    .where({ role: 'admin', active: true })
    .first('id');
  return row === undefined;
}

/**
 * On a database with no admin, makes a one-time setup code that lets the first visitor who has
 * it create the first admin in the console; stores only its hash. Whoever can read central's
 * output or its data folder (the person installing it) has the code; nobody else does.
 * Returns the code, or undefined when the chain already has an admin.
 */
export async function prepareSetup(db: Db, dataDir: string): Promise<string | undefined> {
  const file = path.join(dataDir, SETUP_CODE_FILE);
  if (!(await isSetupNeeded(db.knex))) {
    await db.knex('meta').where('key', META_KEY).del();
    fs.rmSync(file, { force: true });
    return undefined;
  }
  const code = Array.from({ length: 12 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  const hash = hashToken(normalise(code));
  await db.knex('meta').insert({ key: META_KEY, value: hash }).onConflict('key').merge();
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, `${code}\n`, { mode: 0o600 });
  return code;
}

/** Codes are typed with spaces, dashes or in lower case. */
function normalise(code: string): string {
  return code.replace(/[\s-]/g, '').toUpperCase();
}

/**
 * Creates the first admin if `code` is the setup code and there is still no admin; the code is
 * spent in the same transaction. Returns the new staff id, or a reason it was refused.
 */
export async function createFirstAdmin(
  db: Db,
  code: string,
  admin: { username: string; name: string; passwordHash: string },
  at: Date,
  inTransaction: (trx: Knex.Transaction, staffId: number) => Promise<void>,
): Promise<{ staffId: number } | { refused: 'done' | 'wrong-code' | 'taken' }> {
  return db.knex.transaction(async (trx) => {
    // The meta row is the lock: two visitors with the code cannot both create an admin.
    let query = trx('meta').where('key', META_KEY);
    if (db.dialect === 'pg') query = query.forUpdate();
    const row: { value: string } | undefined = await query.first('value');
    if (!row || !(await isSetupNeeded(trx))) return { refused: 'done' as const };
    if (row.value !== hashToken(normalise(code))) return { refused: 'wrong-code' as const };
    if (await trx('staff').where('username', admin.username).first('id')) {
      return { refused: 'taken' as const };
    }
    const rows: { id: number }[] = await trx('staff')
      .insert({
        username: admin.username,
        name: admin.name,
        role: 'admin',
        password_hash: admin.passwordHash,
        pin_hash: null,
        showroom_id: null,
        active: true,
        created_at: toDbTime(db, at),
      })
      .returning('id');
    const staffId = rows[0]?.id;
    if (staffId === undefined) throw new Error('insert into staff returned no id');
    await bumpRulesRevision(trx);
    await trx('meta').where('key', META_KEY).del();
    await inTransaction(trx, staffId);
    return { staffId };
  });
}
