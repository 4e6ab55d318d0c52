/**
 * The program settings document as a flat form: one entry per field, keyed by its JSON pointer
 * (`/otp/ttlSeconds`), so central's field errors land next to the right input.
 */
import { parseRupees } from '../../../shared/money.ts';

export type SettingKind = 'text' | 'int' | 'bool' | 'time' | 'rupees';

export type SettingField = { pointer: string; kind: SettingKind };

export type FormValues = Record<string, string | boolean>;

type Doc = Record<string, unknown>;

function valueAt(doc: Doc, pointer: string): unknown {
  let node: unknown = doc;
  for (const key of pointer.split('/').slice(1)) {
    node = typeof node === 'object' && node !== null ? (node as Doc)[key] : undefined;
  }
  return node;
}

/** Paise as rupees typed in a box: 150 → "1.50". */
export function paiseToText(paise: number): string {
  return `${Math.trunc(paise / 100)}.${String(Math.abs(paise % 100)).padStart(2, '0')}`;
}

/** A saved scalar as a box's text; '' for nothing (the settings hold no objects but groups). */
function textOf(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : '';
}

/** The form's starting values from a saved document. */
export function formValuesOf(fields: readonly SettingField[], doc: Doc): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const value = valueAt(doc, field.pointer);
    if (field.kind === 'bool') values[field.pointer] = value === true;
    else if (field.kind === 'rupees')
      values[field.pointer] = typeof value === 'number' ? paiseToText(value) : '';
    else values[field.pointer] = textOf(value);
  }
  return values;
}

/** What a box holds, as the document wants it; text that is not a number is sent as typed (and refused). */
function documentValue(field: SettingField, value: string | boolean): unknown {
  if (field.kind === 'bool') return value === true;
  const text = String(value).trim();
  if (field.kind === 'int') return /^-?\d+$/.test(text) ? Number(text) : text;
  if (field.kind === 'rupees') return parseRupees(text) ?? text;
  return text;
}

/**
 * The changes only, as a nested patch (`{ otp: { ttlSeconds: 120 } }`): what was not touched is
 * not sent, so the audit log shows exactly what someone changed.
 */
export function patchOf(fields: readonly SettingField[], saved: Doc, values: FormValues): Doc {
  const patch: Doc = {};
  for (const field of fields) {
    const value = values[field.pointer];
    if (value === undefined) continue;
    const next = documentValue(field, value);
    if (next === valueAt(saved, field.pointer)) continue;
    const keys = field.pointer.split('/').slice(1);
    let node = patch;
    for (const key of keys.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Doc;
    }
    const last = keys.at(-1);
    if (last !== undefined) node[last] = next;
  }
  return patch;
}
