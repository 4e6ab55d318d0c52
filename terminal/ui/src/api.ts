import type {
  Catalogue,
  CompleteSale,
  Enrolled,
  Enrolment,
  LedgerView,
  MemberCard,
  NextBill,
  PrintOutcome,
  Product,
  QuoteInput,
  QuoteResponse,
  RedeemInput,
  RedemptionView,
  ReprintKind,
  SaleDone,
  SaleLine,
  SalePreview,
  ScanResult,
  SignedIn,
  StaffView,
  StatusView,
  Suggestions,
} from './types.ts';

/** A refusal from the counter (`{code, message}` with a status), or the counter not answering. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  /** From a Retry-After header, when the counter sends one (a locked name). */
  readonly retryAfterSeconds: number | null;

  constructor(status: number, code: string, message: string, retryAfterSeconds: number | null) {
    super(message);
    this.name = 'ApiFailure';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** `code` for a counter that does not answer at all. */
export const UNREACHABLE = 'unreachable';

export type ApiOptions = {
  token: string;
  session: () => string | null;
  /** A 401 'signed-out': the staff session ended (idle, restart); back to sign-in. */
  onSignedOut: () => void;
  fetchImpl?: typeof fetch;
};

type Method = 'GET' | 'POST' | 'DELETE';

const path = encodeURIComponent;

/** The counter's local API (terminal/server/contract.ts), one function per route. */
export function createApi(options: ApiOptions) {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);

  function headers(): Record<string, string> {
    const session = options.session();
    return {
      Authorization: `Bearer ${options.token}`,
      ...(session === null ? {} : { 'X-Staff-Session': session }),
    };
  }

  async function call<T>(method: Method, url: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers: {
          ...headers(),
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        cache: 'no-store',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ApiFailure(
        0,
        UNREACHABLE,
        'The counter program is not answering; check that it is running.',
        null,
      );
    }
    const text = await response.text();
    if (!response.ok) throw failureOf(response, text, options.onSignedOut);
    // The counter checks what it sends against the contract's schemas; this side trusts it.
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  return {
    headers,
    status: () => call<StatusView>('GET', '/api/status'),
    staff: () => call<{ staff: StaffView[] }>('GET', '/api/staff'),
    signIn: (username: string, pin: string) =>
      call<SignedIn>('POST', '/api/session', { username, pin }),
    signOut: () => call<unknown>('DELETE', '/api/session'),
    suggest: (q: string) => call<Suggestions>('GET', `/api/members?q=${path(q)}`),
    member: (mobile: string) => call<MemberCard>('GET', `/api/members/${path(mobile)}`),
    enrol: (input: Enrolment) => call<Enrolled>('POST', '/api/members', input),
    catalogue: () => call<Catalogue>('GET', '/api/catalogue'),
    product: (sku: string) => call<Product>('GET', `/api/products/${path(sku)}`),
    scan: (text: string) => call<ScanResult>('POST', '/api/scans', { text }),
    preview: (lines: SaleLine[]) => call<SalePreview>('POST', '/api/sales/preview', { lines }),
    nextBill: () => call<NextBill>('GET', '/api/sales/next-bill'),
    completeSale: (input: CompleteSale) => call<SaleDone>('POST', '/api/sales', input),
    quote: (input: QuoteInput) => call<QuoteResponse>('POST', '/api/redemptions/quote', input),
    redeem: (input: RedeemInput) => call<RedemptionView>('POST', '/api/redemptions', input),
    resend: (id: number) => call<RedemptionView>('POST', `/api/redemptions/${id}/resend`, {}),
    confirm: (id: number, otp: string) =>
      call<RedemptionView>('POST', `/api/redemptions/${id}/confirm`, { otp }),
    cancel: (id: number) => call<RedemptionView>('POST', `/api/redemptions/${id}/cancel`, {}),
    redemption: (id: number) => call<RedemptionView>('GET', `/api/redemptions/${id}`),
    ledger: (mobile: string, from: string, to: string) =>
      call<LedgerView>(
        'GET',
        `/api/members/${path(mobile)}/ledger?from=${path(from)}&to=${path(to)}`,
      ),
    printPointSlip: (mobile: string) =>
      call<PrintOutcome>('POST', '/api/print/point-slip', { mobile }),
    printLedger: (mobile: string, from: string, to: string) =>
      call<PrintOutcome>('POST', '/api/print/ledger', { mobile, from, to }),
    printMemberCard: (mobile: string) =>
      call<PrintOutcome>('POST', '/api/print/member-card', { mobile }),
    reprint: (kind: ReprintKind) => call<PrintOutcome>('POST', '/api/print/reprint', { kind }),
  };
}

export type Api = ReturnType<typeof createApi>;

function failureOf(response: Response, text: string, onSignedOut: () => void): ApiFailure {
  let code = `http-${response.status}`;
  let message = `The counter answered ${response.status} ${response.statusText}.`;
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null) {
      const fields = body as { code?: unknown; message?: unknown };
      if (typeof fields.code === 'string') code = fields.code;
      if (typeof fields.message === 'string') message = fields.message;
    }
  } catch {
    // Not JSON (a proxy's page, say): keep the status line.
  }
  const retryAfter = Number(response.headers.get('Retry-After') ?? Number.NaN);
  if (response.status === 401 && code === 'signed-out') onSignedOut();
  return new ApiFailure(
    response.status,
    code,
    message,
    Number.isFinite(retryAfter) ? retryAfter : null,
  );
}
