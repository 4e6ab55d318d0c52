import { z } from 'zod';
import { PersonName, StaffView } from './api.ts';

/** The signed-in console user and the token every change must echo in X-CSRF-Token. */
export const ConsoleSession = z
  .object({ staff: StaffView, csrfToken: z.string(), expiresAt: z.string() })
  .meta({ id: 'ConsoleSession' });
export type ConsoleSession = z.infer<typeof ConsoleSession>;

/** Filters of the audit log; newest first, `beforeId` pages back. */
export const AuditQuery = z.object({
  targetType: z.string().min(1).max(32).optional(),
  targetId: z.string().min(1).max(64).optional(),
  action: z.string().min(1).max(64).optional(),
  username: z.string().min(1).max(64).optional(),
  beforeId: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** One audit row: who changed what, when, and the record before and after. */
export const AuditEntry = z
  .object({
    id: z.int(),
    at: z.string(),
    staffId: z.int().nullable(),
    username: z.string(),
    role: z.string(),
    action: z.string(),
    targetType: z.string(),
    targetId: z.string(),
    before: z.unknown(),
    after: z.unknown(),
    ip: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditPage = z.object({ entries: z.array(AuditEntry) }).meta({ id: 'AuditPage' });
export type AuditPage = z.infer<typeof AuditPage>;

/** Whether the chain still needs its first admin (a new, empty database). */
export const SetupState = z.object({ needed: z.boolean() }).meta({ id: 'SetupState' });
export type SetupState = z.infer<typeof SetupState>;

/** The first admin, created with the one-time code central printed when it started. */
export const SetupRequest = z
  .object({
    setupCode: z.string().min(6).max(40),
    username: z.string().regex(/^[a-z0-9._-]{3,64}$/, 'a username is 3–64 of a-z 0-9 . _ -'),
    name: PersonName,
    password: z.string().min(10, 'a password has at least 10 characters').max(256),
  })
  .meta({ id: 'SetupRequest' });
export type SetupRequest = z.infer<typeof SetupRequest>;
