import { z } from 'zod';
import { ProgramSettings } from '../points/redeem.ts';
import {
  CalendarDate,
  Code,
  Instant,
  MobileInput,
  NOT_STORABLE,
  PersonName,
  Showroom,
  StaffRole,
  storable,
} from './api.ts';

/**
 * Program administration over HTTP (the console's settings pages): showrooms, terminals, staff,
 * categories and rates, program settings, SMS, and the rate-change preview. Admins change;
 * managers may read. Every change is written to the audit log with the record before and after.
 */

// ---------------------------------------------------------------- showrooms

/** PUT /api/showrooms/:code — rename a showroom or move its city; the code never changes. */
export const UpdateShowroomRequest = z
  .strictObject({
    name: Showroom.shape.name.optional(),
    city: Showroom.shape.city.optional(),
  })
  .refine((b) => b.name !== undefined || b.city !== undefined, {
    message: 'send name, city or both',
  })
  .meta({ id: 'UpdateShowroomRequest' });
export type UpdateShowroomRequest = z.infer<typeof UpdateShowroomRequest>;

/** A showroom as GET /api/showrooms and PUT /api/showrooms/:code answer. */
export const ShowroomView = Showroom;
export type ShowroomView = z.infer<typeof ShowroomView>;

// ---------------------------------------------------------------- terminals

/** A paired terminal as GET /api/terminals lists it. */
export const TerminalView = z
  .object({
    id: z.string(),
    showroomCode: z.string(),
    /** The label given at pairing (the counter's name). */
    name: z.string(),
    pairedAt: z.string(),
    revokedAt: z.string().nullable(),
    /** When the terminal last connected to central (null: never since pairing). */
    lastSeenAt: z.string().nullable(),
    /** The terminal program's version it reported when it last connected. */
    appVersion: z.string().nullable(),
  })
  .meta({ id: 'Terminal' });
export type TerminalView = z.infer<typeof TerminalView>;

export const TerminalList = z.object({ terminals: z.array(TerminalView) });
export type TerminalList = z.infer<typeof TerminalList>;

/** POST /api/terminals/pairing-codes. */
export const PairingCodeRequest = z.object({ showroomCode: Code });
/** The code to type on the new terminal, usable once before `expiresAt`. */
export const PairingCodeResponse = z.object({
  code: z.string(),
  showroomCode: z.string(),
  expiresAt: z.string(),
});
export type PairingCodeResponse = z.infer<typeof PairingCodeResponse>;

/** POST /api/terminals/:terminalId/revoke. */
export const RevokeTerminalResponse = z.object({
  terminalId: z.string(),
  revoked: z.literal(true),
});

// ---------------------------------------------------------------- staff

/** Username as a path parameter or field: 3–64 of a-z 0-9 . _ - */
export const Username = z
  .string()
  .regex(/^[a-z0-9._-]{3,64}$/, 'a username is 3–64 of a-z 0-9 . _ -');

/** A staff member as the console lists them; never a hash. */
export const StaffAdminView = z
  .object({
    id: z.int(),
    username: z.string(),
    name: z.string(),
    role: StaffRole,
    showroomCode: z.string().nullable(),
    active: z.boolean(),
    /** Whether a PIN is set (the counter's sign-in); the PIN itself is never shown. */
    hasPin: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ id: 'StaffAdminView' });
export type StaffAdminView = z.infer<typeof StaffAdminView>;

/** GET /api/staff. */
export const StaffList = z.object({ staff: z.array(StaffAdminView) });
export type StaffList = z.infer<typeof StaffList>;

/**
 * PUT /api/staff/:username — any of name, role, showroom (null: chain-wide) and active.
 * Deactivating ends the person's sessions and takes them off every counter.
 */
export const UpdateStaffRequest = z
  .strictObject({
    name: PersonName.optional(),
    role: StaffRole.optional(),
    showroomCode: Code.nullable().optional(),
    active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, {
    message: 'send at least one of name, role, showroomCode, active',
  })
  .meta({ id: 'UpdateStaffRequest' });
export type UpdateStaffRequest = z.infer<typeof UpdateStaffRequest>;

/** PUT /api/staff/:username/password — a new password set by an admin; their sessions end. */
export const ResetPasswordRequest = z
  .strictObject({
    password: z.string().min(10, 'a password has at least 10 characters').max(256),
  })
  .meta({ id: 'ResetPasswordRequest' });
export type ResetPasswordRequest = z.infer<typeof ResetPasswordRequest>;

export const ResetPasswordResponse = z.object({
  username: z.string(),
  passwordReset: z.literal(true),
  /** Sessions ended (the person signs in again with the new password). */
  sessionsEnded: z.int(),
});

// ---------------------------------------------------------------- categories and rates

/** Where a rate stands at `asOf`: before the one in force, in force, or scheduled. */
export const RateStatus = z.enum(['past', 'in-force', 'scheduled']);
export type RateStatus = z.infer<typeof RateStatus>;

export const RateView = z
  .object({
    id: z.int(),
    pointsPer100Rupees: z.int(),
    effectiveFrom: z.string(),
    status: RateStatus,
    /** A scheduled rate may be cancelled until a minute before it starts. */
    cancellable: z.boolean(),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
  })
  .meta({ id: 'RateView' });
export type RateView = z.infer<typeof RateView>;

/** A category with its whole rate history (oldest first) and the rate in force at `asOf`. */
export const CategoryRatesView = z
  .object({
    code: z.string(),
    name: z.string(),
    rateInForce: z.object({ pointsPer100Rupees: z.int(), effectiveFrom: z.string() }).nullable(),
    rates: z.array(RateView),
  })
  .meta({ id: 'CategoryRatesView' });
export type CategoryRatesView = z.infer<typeof CategoryRatesView>;

/** GET /api/rates. */
export const RatesList = z.object({ asOf: z.string(), categories: z.array(CategoryRatesView) });
export type RatesList = z.infer<typeof RatesList>;

/** POST /api/categories (exists; audited). */
export const CreateCategoryRequest = z.object({
  code: Code,
  name: z.string().trim().min(1).max(120).refine(storable, NOT_STORABLE),
  pointsPer100Rupees: z.int().min(0).max(100),
  effectiveFrom: Instant.optional(),
});

/** PUT /api/categories/:code — rename (the code never changes). */
export const UpdateCategoryRequest = z
  .strictObject({ name: z.string().trim().min(1).max(120).refine(storable, NOT_STORABLE) })
  .meta({ id: 'UpdateCategoryRequest' });
export type UpdateCategoryRequest = z.infer<typeof UpdateCategoryRequest>;

/** POST /api/categories/:code/rates (exists; audited): from at least a minute from now. */
export const ScheduleRateRequest = z.object({
  pointsPer100Rupees: z.int('a rate is whole points per ₹100').min(0).max(100),
  effectiveFrom: Instant,
});

/** Path of DELETE /api/categories/:code/rates/:rateId (cancel a scheduled rate). */
export const RateParams = z.object({
  code: Code,
  rateId: z
    .string()
    .regex(/^[1-9]\d{0,9}$/, 'a rate id is a whole number from 1')
    .transform(Number),
});

export const CancelRateResponse = z.object({
  code: z.string(),
  rateId: z.int(),
  cancelled: z.literal(true),
});

// ---------------------------------------------------------------- program settings

/** A group of the program settings with its defaults removed: every field optional, none filled in. */
type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K];
};

function withoutDefaults(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return withoutDefaults(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodObject) {
    const shape = schema.shape as Record<string, z.ZodType>;
    return z.strictObject(
      Object.fromEntries(
        Object.entries(shape).map(([key, field]) => [key, withoutDefaults(field).optional()]),
      ),
    );
  }
  return schema;
}

/**
 * PUT /api/settings/program: only the fields to change (groups such as `otp` may be partial
 * too); an unknown field is refused by name. Derived from ProgramSettings so the limits are
 * the same, but without its defaults (a default here would overwrite a saved value).
 */
// The derived schema's type is rebuilt by hand: zod cannot infer it through the recursion.
export const ProgramSettingsPatch = withoutDefaults(ProgramSettings).meta({
  id: 'ProgramSettingsPatch',
}) as z.ZodType<DeepPartial<ProgramSettings>>;
export type ProgramSettingsPatch = DeepPartial<ProgramSettings>;

export { ProgramSettings };

/** GET and PUT /api/settings/program. */
export const ProgramSettingsView = z
  .object({
    settings: ProgramSettings,
    defaults: ProgramSettings,
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'ProgramSettingsView' });
export type ProgramSettingsView = z.infer<typeof ProgramSettingsView>;

// ---------------------------------------------------------------- SMS

/** Where central's SMS configuration comes from: SMS_CONFIG_FILE wins and is then read-only. */
export const SmsConfigSource = z.enum(['file', 'database', 'default']);
export type SmsConfigSource = z.infer<typeof SmsConfigSource>;

/** The SMS gateways central speaks. */
export const SmsProviderName = z.enum(['dev', 'msg91', 'twilio', 'http']);

/** Secrets are shown as this mark followed by their last 4 characters. */
export const SECRET_MASK = '••••';

/**
 * A gateway's settings as shown: `provider` and that gateway's fields (see the README's SMS
 * section); secrets (MSG91 authKey, Twilio authToken, header values of the http gateway) come
 * masked. Sent back masked or left out, a secret keeps its saved value.
 */
export const SmsProviderView = z.looseObject({ provider: SmsProviderName });
export type SmsProviderView = z.infer<typeof SmsProviderView>;

/** One DLT template: the registered text with {#var#} parts, and what fills each part. */
export const SmsTemplateView = z
  .object({
    text: z.string(),
    variables: z.array(z.string()),
    dltTemplateId: z.string(),
    providerTemplateId: z.string().optional(),
  })
  .meta({ id: 'SmsTemplateView' });
export type SmsTemplateView = z.infer<typeof SmsTemplateView>;

export const SmsDlt = z.object({
  /** The chain's principal entity id on the DLT platform: 19 digits. */
  entityId: z.string().regex(/^\d{19}$/, 'a DLT entity id is 19 digits'),
  /** The registered header (sender id): six capital letters. */
  header: z.string().regex(/^[A-Z]{6}$/, 'a DLT header is six capital letters'),
});

export const SmsWorkerSettings = z.object({
  concurrency: z.int(),
  pollMs: z.int(),
  retryBaseSeconds: z.int(),
  retryMaxSeconds: z.int(),
  maxAttempts: z.int(),
  leaseSeconds: z.int(),
});

/** GET /api/settings/sms (and the answer to PUT). */
export const SmsSettingsView = z
  .object({
    source: SmsConfigSource,
    /** False when SMS_CONFIG_FILE is set: the file is the configuration, edit it there. */
    editable: z.boolean(),
    /** Why not editable, in a sentence; null when editable. */
    readOnlyReason: z.string().nullable(),
    provider: SmsProviderView,
    dlt: SmsDlt,
    language: z.enum(['en', 'hi']),
    /** By name: a kind ('otp', 'earn'…) or a kind and language ('otp.hi'). */
    templates: z.record(z.string(), SmsTemplateView),
    worker: SmsWorkerSettings,
    /**
     * The kinds of message central sends, the variables each may use in its template, and
     * whether a template is required (an optional kind's feature refuses until it has one).
     */
    kinds: z.array(
      z.object({ kind: z.string(), variables: z.array(z.string()), required: z.boolean() }),
    ),
    updatedAt: z.string().nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'SmsSettingsView' });
export type SmsSettingsView = z.infer<typeof SmsSettingsView>;

/**
 * PUT /api/settings/sms — any of the groups. `provider` replaces the gateway's settings (a secret
 * left out or sent masked keeps its saved value when the gateway stays the same); `templates`
 * changes the named templates only (null removes an optional one, e.g. 'earn.hi'). Checked as
 * a whole; the new configuration is used for the next message, in every central process
 * within seconds.
 */
export const SmsSettingsUpdate = z
  .strictObject({
    provider: SmsProviderView.optional(),
    dlt: SmsDlt.optional(),
    language: z.enum(['en', 'hi']).optional(),
    templates: z.record(z.string(), SmsTemplateView.nullable()).optional(),
    worker: SmsWorkerSettings.partial().optional(),
  })
  .meta({ id: 'SmsSettingsUpdate' });
export type SmsSettingsUpdate = z.infer<typeof SmsSettingsUpdate>;

/** A template's name: a kind of message ('earn', 'mobile-otp'), or a kind and language ('earn.hi'). */
export const SmsTemplateName = z
  .string()
  .regex(
    /^[a-z]+(-[a-z]+)*(\.[a-z]{2})?$/,
    'a template name is a kind, or a kind and language: earn.hi',
  );

/** Path of PUT /api/settings/sms/templates/:name. */
export const SmsTemplateParams = z.object({ name: SmsTemplateName });

/** PUT /api/settings/sms/templates/:name — one template, checked against DLT's rules. */
export const SmsTemplateUpdate = z
  .strictObject({
    text: z.string().min(1).max(1000),
    variables: z.array(z.string().regex(/^[a-zA-Z]+$/, 'a variable name is letters only')).max(10),
    dltTemplateId: z.string().regex(/^\d{19}$/, 'a DLT template id is 19 digits'),
    providerTemplateId: z.string().min(1).max(64).optional(),
  })
  .meta({ id: 'SmsTemplateUpdate' });
export type SmsTemplateUpdate = z.infer<typeof SmsTemplateUpdate>;

/** POST /api/settings/sms/test — one message of `kind` (default earn) with sample values. */
export const SmsTestRequest = z
  .strictObject({
    mobile: MobileInput,
    /** A kind of message (see SmsSettingsView.kinds); default earn. */
    kind: z
      .string()
      .regex(/^[a-z]+(-[a-z]+)*$/, 'a kind of message, e.g. earn')
      .optional(),
  })
  .meta({ id: 'SmsTestRequest' });
export type SmsTestRequest = z.input<typeof SmsTestRequest>;

/** What the gateway answered to the test message (sent straight, not through the outbox). */
export const SmsTestResult = z
  .object({
    ok: z.boolean(),
    provider: z.string(),
    to: z.string(),
    text: z.string(),
    providerMessageId: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'SmsTestResult' });
export type SmsTestResult = z.infer<typeof SmsTestResult>;

// ---------------------------------------------------------------- rate-change preview

/** Most categories one preview may change. */
export const MAX_PREVIEW_CHANGES = 100;

/**
 * POST /api/rates/preview — what these rates would have earned on the sales of a period
 * (default: last calendar month in the chain's time zone). Changes nothing.
 */
export const RatePreviewRequest = z
  .strictObject({
    changes: z
      .array(
        z.strictObject({
          categoryCode: Code,
          pointsPer100Rupees: z.int('a rate is whole points per ₹100').min(0).max(100),
        }),
      )
      .min(1, 'propose at least one rate')
      .max(MAX_PREVIEW_CHANGES),
    from: CalendarDate.optional(),
    to: CalendarDate.optional(),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<string>();
    body.changes.forEach((c, i) => {
      if (seen.has(c.categoryCode)) {
        ctx.addIssue({
          code: 'custom',
          message: `${c.categoryCode} is proposed twice`,
          path: ['changes', i, 'categoryCode'],
        });
      }
      seen.add(c.categoryCode);
    });
    if ((body.from === undefined) !== (body.to === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'send both from and to, or neither (last month)',
        path: [body.from === undefined ? 'from' : 'to'],
      });
    }
    if (body.from !== undefined && body.to !== undefined && body.from > body.to) {
      ctx.addIssue({ code: 'custom', message: '"from" is after "to"', path: ['from'] });
    }
  })
  .meta({ id: 'RatePreviewRequest' });
export type RatePreviewRequest = z.infer<typeof RatePreviewRequest>;

const PreviewFigures = {
  /** Sale lines in the period. */
  lines: z.int(),
  /** Their amount, in paise (as sold; returns are not taken off). */
  amountPaise: z.int(),
  /** Points those lines earned at the rates in force when they were sold. */
  pointsEarned: z.int(),
  /** Points they would have earned at the proposed rate (each line rounded down on its own). */
  pointsProposed: z.int(),
  /** pointsProposed − pointsEarned. */
  pointsDifference: z.int(),
  /** The difference's value at the program's point value, in paise (negative: the chain saves). */
  differenceValuePaise: z.int(),
};

export const RatePreviewCategory = z
  .object({
    categoryCode: z.string(),
    name: z.string(),
    /** The rate in force now (null: none yet). */
    currentRate: z.int().nullable(),
    /** The proposed rate (null: not changed, figures as earned). */
    proposedRate: z.int().nullable(),
    ...PreviewFigures,
  })
  .meta({ id: 'RatePreviewCategory' });
export type RatePreviewCategory = z.infer<typeof RatePreviewCategory>;

export const RatePreview = z
  .object({
    from: z.string(),
    to: z.string(),
    timeZone: z.string(),
    pointValuePaise: z.int(),
    /** Every category with sales in the period, and every proposed one. */
    categories: z.array(RatePreviewCategory),
    totals: z.object({ sales: z.int(), ...PreviewFigures }),
  })
  .meta({ id: 'RatePreview' });
export type RatePreview = z.infer<typeof RatePreview>;
