/** A refusal from central (RFC 9457 problem+json), or central not answering at all. */

export type FieldError = { pointer: string; message: string };

export class ApiProblem extends Error {
  readonly status: number;
  /** The problem's code: the last part of its `type` (`/problems/validation` → `validation`). */
  readonly code: string;
  readonly title: string;
  readonly errors: FieldError[];
  /** From a Retry-After header (throttled sign-in), in seconds. */
  readonly retryAfterSeconds: number | null;
  /** When the answer came, so "try again after" can be told without reading the clock again. */
  readonly receivedAtMs: number;

  constructor(init: {
    status: number;
    code: string;
    title: string;
    detail: string;
    errors?: FieldError[];
    retryAfterSeconds?: number | null;
  }) {
    super(init.detail);
    this.name = 'ApiProblem';
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.errors = init.errors ?? [];
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.receivedAtMs = Date.now();
  }

  /** The sentence to show: central's `detail`. */
  get detail(): string {
    return this.message;
  }
}

/** `code` of a problem made here when central does not answer. */
export const UNREACHABLE = 'unreachable';

/** Reads a failed response's body (problem+json, or anything else) into an ApiProblem. */
export function problemOf(
  status: number,
  statusText: string,
  text: string,
  retryAfter: string | null,
): ApiProblem {
  let code = `http-${status}`;
  let title = statusText;
  let detail = `Central answered ${status} ${statusText}.`.replace(' .', '.');
  let errors: FieldError[] = [];
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null) {
      const fields = body as Record<string, unknown>;
      if (typeof fields.type === 'string') code = fields.type.split('/').pop() || code;
      if (typeof fields.title === 'string') title = fields.title;
      if (typeof fields.detail === 'string') detail = fields.detail;
      if (Array.isArray(fields.errors)) {
        errors = fields.errors.filter(
          (e): e is FieldError =>
            typeof e === 'object' &&
            e !== null &&
            typeof (e as FieldError).pointer === 'string' &&
            typeof (e as FieldError).message === 'string',
        );
      }
    }
  } catch {
    // Not JSON (a proxy's error page): the status line says what there is to say.
  }
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  return new ApiProblem({
    status,
    code,
    title,
    detail,
    errors,
    retryAfterSeconds: Number.isFinite(seconds) ? seconds : null,
  });
}

/**
 * The messages for one field, by its JSON pointer (`/otp/ttlSeconds`, or `query:from` for a
 * query parameter); a pointer also collects the errors of whatever is inside it.
 */
export function fieldMessages(errors: readonly FieldError[], pointer: string): string[] {
  return errors
    .filter((e) => e.pointer === pointer || e.pointer.startsWith(`${pointer}/`))
    .map((e) => e.message);
}

/** Errors no field on the form claims: shown with the form's summary instead. */
export function unclaimedErrors(
  errors: readonly FieldError[],
  pointers: readonly string[],
): FieldError[] {
  return errors.filter(
    (e) => !pointers.some((p) => e.pointer === p || e.pointer.startsWith(`${p}/`)),
  );
}

/** A zod-style issue path as the pointer central would use for a body field. */
export function pointerOfPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '/';
  return path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
