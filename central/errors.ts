/** Problem codes central answers with; each maps to an HTTP status and a /problems/ page. */
export const PROBLEMS = {
  validation: { status: 400, title: 'The request is not valid' },
  'malformed-json': { status: 400, title: 'The body is not valid JSON' },
  'body-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'Send JSON' },
  unauthenticated: { status: 401, title: 'Sign in first' },
  forbidden: { status: 403, title: 'Your role may not do this' },
  csrf: { status: 403, title: 'The request did not come from the console page' },
  'wrong-showroom': { status: 403, title: 'Not your showroom' },
  'not-found': { status: 404, title: 'No such resource' },
  'member-not-found': { status: 404, title: 'No member with this mobile' },
  'sale-not-found': { status: 404, title: 'No such sale' },
  'unknown-showroom': { status: 422, title: 'Unknown showroom' },
  'unknown-category': { status: 422, title: 'Unknown category' },
  'pin-needs-showroom': { status: 422, title: 'A cashier with a PIN needs a showroom' },
  'sale-time-out-of-range': { status: 422, title: 'The sale time is not acceptable' },
  'rate-in-past': { status: 422, title: 'A rate cannot start in the past' },
  'rate-not-cancellable': { status: 409, title: 'This rate can no longer be cancelled' },
  'last-admin': { status: 409, title: 'The chain would have no active admin' },
  'sms-config-read-only': { status: 409, title: 'The SMS configuration is read from a file' },
  'return-not-possible': { status: 422, title: 'These units cannot be returned' },
  'insufficient-points': { status: 409, title: 'Not enough points' },
  'idempotency-key-reused': { status: 409, title: 'Idempotency-Key reused for another request' },
  'bill-already-recorded': { status: 409, title: 'This bill was already recorded' },
  'already-exists': { status: 409, title: 'Already exists' },
  'too-many-requests': { status: 429, title: 'Too many attempts' },
  'redemption-not-found': { status: 404, title: 'No such redemption' },
  'redemption-not-allowed': { status: 422, title: 'This redemption is not allowed' },
  'bill-closed': { status: 409, title: 'The bill is already closed' },
  'otp-pending-elsewhere': {
    status: 409,
    title: 'An OTP for this member is pending at another counter',
  },
  'otp-wrong': { status: 422, title: 'The OTP is wrong' },
  'otp-expired': { status: 410, title: 'The OTP has expired' },
  'otp-dead': { status: 410, title: 'The OTP can no longer be used' },
  'otp-foreign': { status: 403, title: 'This OTP belongs to another counter' },
  'cancel-not-possible': { status: 409, title: 'This redemption cannot be cancelled' },
  'member-merged': { status: 409, title: 'This member was merged into another' },
  'merge-not-possible': { status: 409, title: 'These members cannot be merged now' },
  'mobile-taken': { status: 409, title: 'This mobile belongs to another member' },
  'mobile-change-closed': { status: 409, title: 'This change of mobile is no longer open' },
  'sms-template-missing': { status: 503, title: 'No SMS template is configured for this message' },
  internal: { status: 500, title: 'Central failed; nothing was written' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** A refusal with a reason a cashier or integrator can act on; nothing was written. */
export class AppError extends Error {
  readonly code: ProblemCode;
  readonly errors: { pointer: string; message: string }[] | undefined;

  constructor(code: ProblemCode, detail: string, errors?: { pointer: string; message: string }[]) {
    super(detail);
    this.code = code;
    this.errors = errors;
  }

  get status(): number {
    return PROBLEMS[this.code].status;
  }
}
