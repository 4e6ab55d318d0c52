import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../../../shared/points/redeem.ts';
import { ProgramSettingsPatch } from '../../../shared/protocol/admin.ts';
import { formValuesOf, paiseToText, patchOf, type SettingField } from './settings-form.ts';
import { PROVIDER_FIELDS, providerOf, providerValuesOf } from './sms-provider.ts';

const FIELDS: SettingField[] = [
  { pointer: '/chainName', kind: 'text' },
  { pointer: '/pointValuePaise', kind: 'rupees' },
  { pointer: '/earnNotices', kind: 'bool' },
  { pointer: '/otp/ttlSeconds', kind: 'int' },
  { pointer: '/wishes/sendAt', kind: 'time' },
];

describe('program settings form', () => {
  const saved = DEFAULT_SETTINGS as unknown as Record<string, unknown>;

  it('starts from the saved document', () => {
    expect(formValuesOf(FIELDS, saved)).toEqual({
      '/chainName': 'Showroom Loyalty',
      '/pointValuePaise': '1.00',
      '/earnNotices': true,
      '/otp/ttlSeconds': '300',
      '/wishes/sendAt': '10:00',
    });
    expect(paiseToText(150)).toBe('1.50');
    expect(paiseToText(5)).toBe('0.05');
  });

  it('sends only what changed, nested as the document is', () => {
    const values = {
      ...formValuesOf(FIELDS, saved),
      '/pointValuePaise': '0.50',
      '/otp/ttlSeconds': ' 120 ',
      '/earnNotices': false,
    };
    const patch = patchOf(FIELDS, saved, values);
    expect(patch).toEqual({ pointValuePaise: 50, otp: { ttlSeconds: 120 }, earnNotices: false });
    expect(ProgramSettingsPatch.safeParse(patch).success).toBe(true);
    expect(patchOf(FIELDS, saved, formValuesOf(FIELDS, saved))).toEqual({});
  });

  it('sends what is not a number as typed, so the refusal names the field', () => {
    const patch = patchOf(FIELDS, saved, {
      ...formValuesOf(FIELDS, saved),
      '/otp/ttlSeconds': '2 min',
    });
    expect(patch).toEqual({ otp: { ttlSeconds: '2 min' } });
    const result = ProgramSettingsPatch.safeParse(patch);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['otp', 'ttlSeconds']);
  });
});

describe('SMS provider form', () => {
  it('shows the saved gateway with its secret masked, and sends it back as it was', () => {
    const saved = {
      provider: 'msg91',
      authKey: '••••a1b2',
      timeoutMs: 10000,
      shortUrl: false,
      variableNames: { otp: ['otp'] },
    };
    const values = providerValuesOf('msg91', saved);
    expect(values.authKey).toBe('••••a1b2');
    expect(values.variableNames).toBe('{\n  "otp": [\n    "otp"\n  ]\n}');
    expect(providerOf('msg91', values)).toEqual({
      ok: true,
      provider: {
        provider: 'msg91',
        authKey: '••••a1b2',
        timeoutMs: 10000,
        shortUrl: false,
        variableNames: { otp: ['otp'] },
      },
    });
  });

  it('starts a different gateway empty and leaves empty fields out', () => {
    const values = providerValuesOf('twilio', { provider: 'dev' });
    expect(Object.keys(values)).toEqual(PROVIDER_FIELDS.twilio.map((f) => f.name));
    expect(providerOf('twilio', { ...values, accountSid: 'AC1', authToken: 'tok' })).toEqual({
      ok: true,
      provider: { provider: 'twilio', accountSid: 'AC1', authToken: 'tok' },
    });
  });

  it('names a JSON field that does not parse', () => {
    const values = {
      ...providerValuesOf('http', {}),
      url: 'https://sms.example',
      template: '{"to": ',
    };
    expect(providerOf('http', values)).toEqual({
      ok: false,
      errors: [{ pointer: '/provider/template', message: 'this is not valid JSON' }],
    });
    expect(providerOf('http', { ...values, template: 'to={{to}}&text={{text}}' })).toMatchObject({
      ok: true,
      provider: { template: 'to={{to}}&text={{text}}' },
    });
  });
});
