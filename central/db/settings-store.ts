import { ProgramSettings } from '../../shared/points/redeem.ts';
import { AppError } from '../errors.ts';
import { fromDbTime } from './connect.ts';
import type { Q } from './ledger-store.ts';
import { bumpRulesRevision } from './rules-revision.ts';

const PROGRAM = 'program';

/** The program's settings: what is saved, over the defaults. */
export async function loadProgramSettings(q: Q): Promise<ProgramSettings> {
  const row: { value: string } | undefined = await q('settings')
    .where('key', PROGRAM)
    .first('value');
  return ProgramSettings.parse(row ? JSON.parse(row.value) : {});
}

/**
 * Saves changes to the program's settings (a partial document merged over what is saved; nested
 * groups such as `otp` are merged too). Refuses a result that is not valid, naming each field.
 */
export async function saveProgramSettings(
  q: Q,
  patch: Record<string, unknown>,
  by: { staffId: number | null; now: Date },
): Promise<ProgramSettings> {
  // Read, merge and write in one transaction. The chain's name and point value travel in the
  // terminals' rules: the revision moves with the settings, from the CLI (`settings set`) as
  // from anywhere else.
  return q.transaction(async (trx) => {
    const row: { value: string } | undefined = await trx('settings')
      .where('key', PROGRAM)
      .first('value');
    const saved = (row ? JSON.parse(row.value) : {}) as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...saved };
    for (const [key, value] of Object.entries(patch)) {
      const before = saved[key];
      merged[key] = isPlainObject(value) && isPlainObject(before) ? { ...before, ...value } : value;
    }
    const parsed = ProgramSettings.strict().safeParse(merged);
    if (!parsed.success) {
      throw new AppError(
        'validation',
        `These settings are not valid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        parsed.error.issues.map((i) => ({ pointer: `/${i.path.join('/')}`, message: i.message })),
      );
    }
    await trx('settings')
      .insert({
        key: PROGRAM,
        value: JSON.stringify(parsed.data),
        updated_at: by.now,
        updated_by: by.staffId,
      })
      .onConflict('key')
      .merge(['value', 'updated_at', 'updated_by']);
    await bumpRulesRevision(trx);
    return parsed.data;
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A process's copy of the settings, read again after `ttlMs` (other processes may change them). */
export class SettingsCache {
  private value: { settings: ProgramSettings; atMs: number } | undefined;
  private readonly ttlMs: number;
  constructor(ttlMs = 5_000) {
    this.ttlMs = ttlMs;
  }
  async get(q: Q): Promise<ProgramSettings> {
    const now = performance.now();
    if (!this.value || now - this.value.atMs > this.ttlMs) {
      this.value = { settings: await loadProgramSettings(q), atMs: now };
    }
    return this.value.settings;
  }
  forget(): void {
    this.value = undefined;
  }
}

/** A settings row as stored: its JSON text, when and by whom it was last saved. */
export interface SettingRow {
  value: string;
  updatedAt: string | null;
  updatedBy: string | null;
}

/** The stored row of a settings key (undefined: never saved, defaults apply). */
export async function loadSettingRow(q: Q, key: string): Promise<SettingRow | undefined> {
  const row: { value: string; updated_at: unknown; username: string | null } | undefined = await q(
    'settings as s',
  )
    .leftJoin('staff as st', 'st.id', 's.updated_by')
    .where('s.key', key)
    .first('s.value', 's.updated_at', 'st.username');
  if (!row) return undefined;
  return { value: row.value, updatedAt: settingTime(row.updated_at), updatedBy: row.username };
}

/** Only the JSON text of a settings key: what a process polls to notice a change. */
export async function loadSettingText(q: Q, key: string): Promise<string | undefined> {
  const row: { value: string } | undefined = await q('settings').where('key', key).first('value');
  return row?.value;
}

/** Writes a settings key's whole document (validated by the caller). */
export async function saveSettingRow(
  q: Q,
  key: string,
  value: unknown,
  by: { staffId: number | null; now: Date },
): Promise<void> {
  await q('settings')
    .insert({
      key,
      value: JSON.stringify(value),
      updated_at: by.now,
      updated_by: by.staffId,
    })
    .onConflict('key')
    .merge(['value', 'updated_at', 'updated_by']);
}

// SQLite gets a Date bound as its milliseconds (settings rows are written with `now` as is).
function settingTime(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return new Date(value).toISOString();
  if (typeof value === 'string' && /^\d+$/.test(value))
    return new Date(Number(value)).toISOString();
  return fromDbTime(value);
}
