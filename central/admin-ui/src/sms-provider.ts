/**
 * The SMS gateway form: each gateway's fields as central's configuration names them, and the
 * provider object built from what was typed. Secrets come from central masked; sent back
 * unchanged (masked), central keeps the saved secret.
 */

export type ProviderName = 'dev' | 'msg91' | 'twilio' | 'http';

export const PROVIDERS: readonly ProviderName[] = ['dev', 'msg91', 'twilio', 'http'];

export type ProviderFieldKind =
  'text' | 'secret' | 'int' | 'bool' | 'json' | 'text-or-json' | 'choice';

export type ProviderField = {
  name: string;
  kind: ProviderFieldKind;
  required?: boolean;
  choices?: readonly string[];
};

export const PROVIDER_FIELDS: Record<ProviderName, readonly ProviderField[]> = {
  dev: [{ name: 'file', kind: 'text' }],
  msg91: [
    { name: 'authKey', kind: 'secret', required: true },
    { name: 'baseUrl', kind: 'text' },
    { name: 'timeoutMs', kind: 'int' },
    { name: 'shortUrl', kind: 'bool' },
    { name: 'variableNames', kind: 'json' },
  ],
  twilio: [
    { name: 'accountSid', kind: 'text', required: true },
    { name: 'authToken', kind: 'secret', required: true },
    { name: 'from', kind: 'text' },
    { name: 'messagingServiceSid', kind: 'text' },
    { name: 'baseUrl', kind: 'text' },
    { name: 'timeoutMs', kind: 'int' },
  ],
  http: [
    { name: 'label', kind: 'text' },
    { name: 'url', kind: 'text', required: true },
    { name: 'method', kind: 'choice', choices: ['POST', 'GET'] },
    { name: 'bodyType', kind: 'choice', choices: ['', 'form', 'json', 'none'] },
    { name: 'headers', kind: 'json' },
    { name: 'template', kind: 'text-or-json', required: true },
    { name: 'successPattern', kind: 'text' },
    { name: 'messageIdPattern', kind: 'text' },
    { name: 'timeoutMs', kind: 'int' },
  ],
};

export type ProviderValues = Record<string, string | boolean>;

/** The boxes' starting text for a gateway's saved settings (empty for a different gateway). */
export function providerValuesOf(
  name: ProviderName,
  saved: Record<string, unknown>,
): ProviderValues {
  const same = saved.provider === name;
  const values: ProviderValues = {};
  for (const field of PROVIDER_FIELDS[name]) {
    const value = same ? saved[field.name] : undefined;
    if (field.kind === 'bool') values[field.name] = value === true;
    else if (value === undefined || value === null) values[field.name] = '';
    else if (typeof value === 'object') values[field.name] = JSON.stringify(value, null, 2);
    else if (typeof value === 'string' || typeof value === 'number')
      values[field.name] = String(value);
    else values[field.name] = '';
  }
  return values;
}

/**
 * The provider object to send, or the fields whose text is not what they need (JSON that does
 * not parse), by pointer under `/provider`.
 */
export function providerOf(
  name: ProviderName,
  values: ProviderValues,
):
  | { ok: true; provider: Record<string, unknown> }
  | { ok: false; errors: { pointer: string; message: string }[] } {
  const provider: Record<string, unknown> = { provider: name };
  const errors: { pointer: string; message: string }[] = [];
  for (const field of PROVIDER_FIELDS[name]) {
    const value = values[field.name];
    if (field.kind === 'bool') {
      provider[field.name] = value === true;
      continue;
    }
    const text = typeof value === 'string' ? value.trim() : '';
    if (text === '') continue;
    if (field.kind === 'int') {
      provider[field.name] = /^\d+$/.test(text) ? Number(text) : text;
    } else if (field.kind === 'json' || (field.kind === 'text-or-json' && /^[{[]/.test(text))) {
      try {
        provider[field.name] = JSON.parse(text) as unknown;
      } catch {
        errors.push({ pointer: `/provider/${field.name}`, message: 'this is not valid JSON' });
      }
    } else {
      provider[field.name] = text;
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, provider };
}
