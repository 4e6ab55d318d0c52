import { z } from 'zod';

/** The placeholder DLT registrations use for each variable part of a template. */
export const DLT_VAR = '{#var#}';
/** DLT lets a {#var#} carry at most 30 characters. */
export const DLT_VAR_MAX = 30;
/** Longest message we send: six concatenated parts. */
export const MAX_SEGMENTS = 6;

export const MESSAGE_KINDS = ['otp', 'earn', 'redeem', 'birthday', 'anniversary'] as const;
/**
 * Kinds a configuration may leave out: the feature that sends them refuses plainly until a
 * template is registered (a configuration written before they existed stays valid).
 */
export const OPTIONAL_MESSAGE_KINDS = ['mobile-otp'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number] | (typeof OPTIONAL_MESSAGE_KINDS)[number];

/** One template as registered on the DLT platform, and the variables we fill it with. */
export const SmsTemplate = z
  .object({
    /** The registered text, with {#var#} for each variable part, exactly as registered. */
    text: z.string().min(1).max(1000),
    /** Our names for the {#var#} parts, in order, e.g. ["otp", "points", "bill"]. */
    variables: z.array(z.string().regex(/^[a-zA-Z]+$/)).max(10),
    /** The template id the DLT platform gave this template: 19 digits. */
    dltTemplateId: z.string().regex(/^\d{19}$/, 'a DLT template id is 19 digits'),
    /** The gateway's own id for it, when the gateway needs one (MSG91's template id). */
    providerTemplateId: z.string().min(1).max(64).optional(),
  })
  .refine((t) => t.text.split(DLT_VAR).length - 1 === t.variables.length, {
    message: `the text must have one ${DLT_VAR} for each name in variables`,
  });
export type SmsTemplate = z.infer<typeof SmsTemplate>;

/** The variables each kind of message fills in; a configured template may use any of them. */
export const KIND_VARIABLES: Record<MessageKind, readonly string[]> = {
  otp: ['otp', 'points', 'rupees', 'bill', 'showroom', 'minutes', 'name'],
  earn: ['name', 'points', 'bill', 'showroom', 'balance', 'chain'],
  redeem: ['name', 'points', 'rupees', 'bill', 'showroom', 'balance', 'chain'],
  birthday: ['name', 'bonus', 'chain', 'balance'],
  anniversary: ['name', 'bonus', 'chain', 'balance'],
  'mobile-otp': ['otp', 'chain', 'from', 'to', 'minutes', 'name'],
};

// Demo registrations: 19-digit ids of the right shape; a chain replaces them with its own.
const demoId = (n: number) => `1107${String(n).padStart(15, '0')}`;

/** Templates a new deployment starts with, in English and Hindi. */
export const DEFAULT_TEMPLATES: Record<string, SmsTemplate> = {
  otp: {
    text: '{#var#} is your OTP to redeem {#var#} points (Rs {#var#}) on bill {#var#} at {#var#}. Valid {#var#} minutes. Do not share it. -SHWRMS',
    variables: ['otp', 'points', 'rupees', 'bill', 'showroom', 'minutes'],
    dltTemplateId: demoId(1),
  },
  earn: {
    text: 'Dear {#var#}, you earned {#var#} points on bill {#var#} at {#var#}. Balance {#var#} points. -SHWRMS',
    variables: ['name', 'points', 'bill', 'showroom', 'balance'],
    dltTemplateId: demoId(2),
  },
  redeem: {
    text: 'Dear {#var#}, {#var#} points (Rs {#var#}) were redeemed on bill {#var#} at {#var#}. Balance {#var#} points. -SHWRMS',
    variables: ['name', 'points', 'rupees', 'bill', 'showroom', 'balance'],
    dltTemplateId: demoId(3),
  },
  birthday: {
    text: 'Happy birthday, {#var#}! {#var#} Warm wishes from {#var#}. -SHWRMS',
    variables: ['name', 'bonus', 'chain'],
    dltTemplateId: demoId(4),
  },
  anniversary: {
    text: 'Happy anniversary, {#var#}! {#var#} Warm wishes from {#var#}. -SHWRMS',
    variables: ['name', 'bonus', 'chain'],
    dltTemplateId: demoId(5),
  },
  'mobile-otp': {
    text: '{#var#} is your OTP to move your {#var#} membership from {#var#} to {#var#}. Valid {#var#} minutes. Do not share it. -SHWRMS',
    variables: ['otp', 'chain', 'from', 'to', 'minutes'],
    dltTemplateId: demoId(6),
  },
  'otp.hi': {
    text: '{#var#} आपका OTP है: बिल {#var#} पर {#var#} पॉइंट (Rs {#var#}) रिडीम करने के लिए, {#var#} मिनट तक मान्य। इसे किसी को न बताएं। -SHWRMS',
    variables: ['otp', 'bill', 'points', 'rupees', 'minutes'],
    dltTemplateId: demoId(11),
  },
  'earn.hi': {
    text: 'प्रिय {#var#}, बिल {#var#} पर आपको {#var#} पॉइंट मिले। शेष {#var#} पॉइंट। -SHWRMS',
    variables: ['name', 'bill', 'points', 'balance'],
    dltTemplateId: demoId(12),
  },
  'redeem.hi': {
    text: 'प्रिय {#var#}, बिल {#var#} पर {#var#} पॉइंट (Rs {#var#}) रिडीम हुए। शेष {#var#} पॉइंट। -SHWRMS',
    variables: ['name', 'bill', 'points', 'rupees', 'balance'],
    dltTemplateId: demoId(13),
  },
  'birthday.hi': {
    text: 'जन्मदिन मुबारक हो, {#var#}! {#var#} {#var#} की ओर से शुभकामनाएं। -SHWRMS',
    variables: ['name', 'bonus', 'chain'],
    dltTemplateId: demoId(14),
  },
  'mobile-otp.hi': {
    text: '{#var#} आपका OTP है: {#var#} सदस्यता का मोबाइल नंबर {#var#} से {#var#} पर बदलने के लिए, {#var#} मिनट तक मान्य। इसे किसी को न बताएं। -SHWRMS',
    variables: ['otp', 'chain', 'from', 'to', 'minutes'],
    dltTemplateId: demoId(16),
  },
  'anniversary.hi': {
    text: 'सालगिरह मुबारक हो, {#var#}! {#var#} {#var#} की ओर से शुभकामनाएं। -SHWRMS',
    variables: ['name', 'bonus', 'chain'],
    dltTemplateId: demoId(15),
  },
};

/** A message rendered from its template and found to fit it. */
export interface Rendered {
  text: string;
  variables: string[];
  unicode: boolean;
  segments: number;
}

export type RenderResult = ({ ok: true } & Rendered) | { ok: false; reason: string };

/** GSM 03.38's basic set and its extension table (each extension character counts twice). */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENDED = '^{}\\[~]|€\f';
const gsmBasic = new Set(GSM_BASIC);
const gsmExtended = new Set(GSM_EXTENDED);

/** Encoding and length of a text as an SMS: GSM-7 when every character allows, else UCS-2. */
export function measure(text: string): { unicode: boolean; segments: number; units: number } {
  let septets = 0;
  let gsm = true;
  for (const ch of text) {
    if (gsmBasic.has(ch)) septets += 1;
    else if (gsmExtended.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) {
    return {
      unicode: false,
      units: septets,
      segments: septets <= 160 ? 1 : Math.ceil(septets / 153),
    };
  }
  // UCS-2 counts UTF-16 code units: 70 in one part, 67 in each part of a longer message.
  const units = text.length;
  return { unicode: true, units, segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}

/**
 * Fills a template's {#var#} parts with `values` and checks that the result is a message the
 * DLT platform will pass: every variable present, none longer than 30 characters nor carrying
 * a line break, and the whole text matching the registered template. A message that does not
 * fit is refused here, before it reaches a gateway (which would drop it silently).
 */
export function render(template: SmsTemplate, values: Record<string, string>): RenderResult {
  const variables: string[] = [];
  for (const name of template.variables) {
    const value = values[name];
    if (value === undefined) return { ok: false, reason: `no value for variable ${name}` };
    if (Array.from(value).length > DLT_VAR_MAX) {
      return {
        ok: false,
        reason: `variable ${name} has ${Array.from(value).length} characters; DLT allows ${DLT_VAR_MAX}`,
      };
    }
    if (/[\r\n]/.test(value)) return { ok: false, reason: `variable ${name} has a line break` };
    variables.push(value);
  }
  const parts = template.text.split(DLT_VAR);
  const text = parts.reduce(
    (acc, part, i) => acc + (i === 0 ? '' : (variables[i - 1] ?? '')) + part,
    '',
  );
  if (!fitsTemplate(template.text, text)) {
    return { ok: false, reason: 'the text does not match its registered template' };
  }
  const { unicode, segments } = measure(text);
  if (segments > MAX_SEGMENTS) {
    return { ok: false, reason: `the message needs ${segments} parts; at most ${MAX_SEGMENTS}` };
  }
  return { ok: true, text, variables, unicode, segments };
}

/** Whether `text` is the registered template with each {#var#} replaced by ≤ 30 characters. */
export function fitsTemplate(templateText: string, text: string): boolean {
  const pattern = templateText
    .split(DLT_VAR)
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join(`[^\\r\\n]{0,${DLT_VAR_MAX}}`);
  return new RegExp(`^${pattern}$`, 'u').test(text);
}

/** Shortens a name to what a {#var#} may hold, without cutting a character in two. */
export function fitName(name: string): string {
  const chars = Array.from(name.trim().replace(/\s+/g, ' '));
  return chars.length <= DLT_VAR_MAX ? chars.join('') : chars.slice(0, DLT_VAR_MAX).join('').trim();
}

/** A bill number for a {#var#}: a longer one keeps its last characters, which tell bills apart. */
export function fitRef(reference: string): string {
  const chars = Array.from(reference);
  return chars.length <= DLT_VAR_MAX ? reference : `…${chars.slice(-(DLT_VAR_MAX - 1)).join('')}`;
}
