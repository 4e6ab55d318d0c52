import type { NewOutboxRow } from '../db/sms-store.ts';
import { seal } from '../secret.ts';
import { templateName, type SmsConfig } from './config.ts';
import { render, type MessageKind } from './templates.ts';

/** What composing a message needs: the SMS configuration and the key that seals OTPs. */
export interface Composer {
  config: SmsConfig;
  sealKey: Buffer;
  chainName: string;
}

/** A message to compose: its kind, who gets it, and its variables' values by name. */
export interface MessageRequest {
  kind: MessageKind;
  dedupeKey: string;
  memberId: number | null;
  mobile: string;
  values: Record<string, string>;
  /** Variables that must not be stored in clear (the OTP): sealed until sent. */
  secret?: string[];
  expiresAt: Date;
  terminalId?: string | null;
  redemptionId?: number | null;
}

const MASK = '******';

/**
 * An outbox row for a message: rendered and checked against its DLT template now, so a message
 * that cannot be sent is recorded as 'refused' with the reason instead of failing at the
 * gateway. An OTP's code is kept only sealed; the stored text shows ******.
 */
export function compose(composer: Composer, request: MessageRequest): NewOutboxRow {
  const { config } = composer;
  const name = templateName(config, request.kind);
  const template = config.templates[name];
  const values: Record<string, string> = { chain: composer.chainName, ...request.values };
  const rendered = template
    ? render(template, values)
    : ({ ok: false, reason: `no template named ${name}` } as const);
  const base = {
    kind: request.kind,
    dedupeKey: request.dedupeKey,
    memberId: request.memberId,
    mobile: request.mobile,
    template: name,
    expiresAt: request.expiresAt,
    terminalId: request.terminalId ?? null,
    redemptionId: request.redemptionId ?? null,
  };
  if (!rendered.ok) {
    return {
      ...base,
      text: '',
      sealed: null,
      variables: [],
      unicode: false,
      segments: 0,
      status: 'refused',
      lastError: `refused before sending: ${rendered.reason}`,
    };
  }
  const secret = new Set(request.secret ?? []);
  let text = rendered.text;
  let variables = rendered.variables;
  let sealed: string | null = null;
  if (secret.size > 0 && template) {
    sealed = seal(composer.sealKey, JSON.stringify({ text, variables }));
    const masked = { ...values };
    for (const key of secret) masked[key] = MASK;
    const shown = render(template, masked);
    text = shown.ok ? shown.text : '';
    variables = template.variables.map((v) => (secret.has(v) ? MASK : (values[v] ?? '')));
  }
  return {
    ...base,
    text,
    sealed,
    variables,
    unicode: rendered.unicode,
    segments: rendered.segments,
    status: 'queued',
    lastError: null,
  };
}

/** Rupees for a message, from integer paise: 12345 → "123.45", 10000 → "100". */
export function rupeesText(paise: number): string {
  const whole = Math.trunc(paise / 100);
  const rest = Math.abs(paise % 100);
  return rest === 0 ? String(whole) : `${whole}.${String(rest).padStart(2, '0')}`;
}
