import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newKey, startTestCentral, type TestCentral } from './support/central.ts';

interface Operation {
  operationId: string;
  security?: unknown[];
  // any (here and below): the document is walked as untyped JSON Schema, as a client would.
  parameters?: { in: string; name: string; required?: boolean; schema?: any }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: any }> };
  responses: Record<string, any>;
}

/** The routes Express actually serves, as "METHOD /path/{param}". */
function servedRoutes(c: TestCentral): string[] {
  const stack = (
    c.central.app as unknown as {
      router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
    }
  ).router.stack;
  const out: string[] = [];
  for (const layer of stack) {
    if (!layer.route) continue;
    const p = layer.route.path.replace(/:(\w+)/g, '{$1}');
    for (const [method, on] of Object.entries(layer.route.methods)) {
      if (on && method !== '_all') out.push(`${method.toUpperCase()} ${p}`);
    }
  }
  return out.sort();
}

describe('OpenAPI document', () => {
  let c: TestCentral;
  // any: the served document, walked as untyped JSON.
  let doc: any;
  const op = (method: string, path: string): Operation => {
    const found = doc.paths[path]?.[method.toLowerCase()] as Operation | undefined;
    if (!found) throw new Error(`the document has no ${method} ${path}`);
    return found;
  };
  /** Follows a local $ref such as #/components/schemas/SaleLineInput. */
  // any: a JSON Schema node of any shape.
  const deref = (schema: any): any =>
    typeof schema?.$ref === 'string'
      ? deref(
          (schema.$ref as string)
            .replace(/^#\//, '')
            .split('/')
            .reduce((node: any, key: string) => node?.[key], doc),
        )
      : schema;

  beforeAll(async () => {
    c = await startTestCentral('sqlite');
    const r = await c.request('GET', '/api/openapi.json');
    expect(r.status).toBe(200);
    doc = r.body;
  });
  afterAll(async () => {
    await c.close();
  });

  it('is OpenAPI 3.1, served without signing in', () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('describes the key operations', () => {
    for (const [method, path] of [
      ['POST', '/api/sales'],
      ['POST', '/api/members'],
      ['GET', '/api/members/{memberId}/ledger'],
      ['POST', '/api/sales/{saleId}/returns'],
      ['POST', '/api/members/{memberId}/adjustments'],
      ['POST', '/api/auth/login'],
      ['GET', '/healthz'],
    ] as const) {
      expect(op(method, path).operationId, `${method} ${path}`).toEqual(expect.any(String));
    }
  });

  it('lists exactly the routes the server serves (besides /problems/)', () => {
    const documented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, object>)) {
      for (const method of Object.keys(item)) documented.push(`${method.toUpperCase()} ${path}`);
    }
    // The console's pages (/, /console/...) are HTML, not API operations.
    const served = servedRoutes(c).filter(
      (r) => !r.startsWith('GET /problems/') && r !== 'GET /' && !r.startsWith('GET /console'),
    );
    expect(served.length).toBeGreaterThan(15);
    expect(documented.sort()).toEqual(served);
  });

  it('gives every operation a unique operationId and every {param} a required path parameter', () => {
    const ids: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, object>)) {
      for (const operation of Object.values(item) as Operation[]) {
        ids.push(operation.operationId);
        for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
          const param = operation.parameters?.find((p) => p.in === 'path' && p.name === name);
          expect(param?.required, `${path} {${name}}`).toBe(true);
        }
      }
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('marks only public operations as needing no sign-in', () => {
    expect(doc.security).toEqual([{ bearer: [] }, { consoleCookie: [] }]);
    expect(op('POST', '/api/auth/login').security).toEqual([]);
    expect(op('GET', '/healthz').security).toEqual([]);
    expect(op('POST', '/api/sales').security).toBeUndefined();
    expect(op('POST', '/api/sales/{saleId}/returns').security).toBeUndefined();
  });

  it('describes SaleRequest: required fields and integer paise with a ceiling', () => {
    const body = op('POST', '/api/sales').requestBody;
    expect(body?.required).toBe(true);
    expect(body?.content['application/json']?.schema.$ref).toBe('#/components/schemas/SaleRequest');
    const sale = doc.components.schemas.SaleRequest;
    expect(sale.type).toBe('object');
    expect(sale.required).toEqual(
      expect.arrayContaining(['showroomCode', 'billNumber', 'mobile', 'lines']),
    );
    expect(sale.required).not.toContain('soldAt');
    expect(sale.properties.lines).toMatchObject({ type: 'array', minItems: 1 });
    const line = deref(sale.properties.lines.items);
    expect(line.required).toEqual(expect.arrayContaining(['sku', 'categoryCode', 'amountPaise']));
    expect(line.properties.amountPaise.type).toBe('integer');
    expect(line.properties.amountPaise.minimum).toBe(1);
    expect(Number.isSafeInteger(line.properties.amountPaise.maximum)).toBe(true);
  });

  it('requires the Idempotency-Key header on every terminal write', () => {
    for (const [method, path] of [
      ['POST', '/api/sales'],
      ['POST', '/api/sales/{saleId}/returns'],
      ['POST', '/api/members/{memberId}/adjustments'],
    ] as const) {
      const header = op(method, path).parameters?.find(
        (p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key',
      );
      expect(header?.required, `${method} ${path}`).toBe(true);
      expect(header?.schema.type).toBe('string');
    }
  });

  it('gives every operation a problem+json default response', () => {
    for (const item of Object.values(doc.paths as Record<string, object>)) {
      for (const operation of Object.values(item) as Operation[]) {
        expect(
          operation.responses.default?.content?.['application/problem+json']?.schema.$ref,
          operation.operationId,
        ).toBe('#/components/schemas/Problem');
      }
    }
  });

  describe('agrees with what the server accepts', () => {
    // any: request bodies built from the document's examples, then varied by each test.
    let sale: () => any;
    let line: any;
    const post = (
      body: unknown,
      headers: Record<string, string> = { 'idempotency-key': newKey() },
    ) => c.request('POST', '/api/sales', { token: c.tokens.cashier, body, headers });

    beforeAll(async () => {
      line = deref(doc.components.schemas.SaleRequest.properties.lines.items);
      const enrol = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: {
          mobile: '9876543210',
          name: 'Openapi Check',
          smsConsent: true,
          showroomCode: 'MUM-01',
        },
      });
      expect(enrol.status).toBe(201);
      sale = () => ({
        showroomCode: 'MUM-01',
        billNumber: `MUM/${newKey('oa')}`,
        mobile: '9876543210',
        lines: [{ sku: 'LED-9W', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }],
      });
    });

    /** A refusal must be a 400 problem shaped as the document's Problem schema, naming `pointer`. */
    const expectRefused = (r: Awaited<ReturnType<typeof post>>, pointer: string): void => {
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      const problem = doc.components.schemas.Problem;
      for (const key of problem.required as string[]) expect(r.body).toHaveProperty(key);
      for (const key of Object.keys(r.body as object)) {
        expect(Object.keys(problem.properties)).toContain(key);
      }
      expect(r.body.type).toBe('/problems/validation');
      expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    };

    it('accepts a body the document says is valid', async () => {
      const r = await post(sale());
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    });

    it('refuses a body missing each required field the document lists, writing nothing', async () => {
      const before = await c.counts();
      for (const field of doc.components.schemas.SaleRequest.required as string[]) {
        const body = Object.fromEntries(Object.entries(sale()).filter(([k]) => k !== field));
        expectRefused(await post(body), `/${field}`);
      }
      expect(await c.counts()).toEqual(before);
    });

    it('refuses line amounts the document rules out: fractions, above maximum, below minimum', async () => {
      const amount = line.properties.amountPaise as { minimum: number; maximum: number };
      for (const bad of [10_000.5, amount.maximum + 1, amount.minimum - 1]) {
        const body = sale();
        body.lines[0].amountPaise = bad;
        expectRefused(await post(body), '/lines/0/amountPaise');
      }
      const atMax = sale();
      atMax.lines[0].amountPaise = amount.maximum;
      expect((await post(atMax)).status).toBe(201);
    });

    it('refuses an empty lines array (minItems)', async () => {
      const body = sale();
      body.lines = [];
      expectRefused(await post(body), '/lines');
    });

    it('refuses a sale without the required Idempotency-Key header', async () => {
      expectRefused(await post(sale(), {}), 'header:idempotency-key');
    });
  });

  describe('problem pages', () => {
    it('describes a problem type at the address its responses name', async () => {
      const r = await c.request('GET', '/problems/validation');
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        type: '/problems/validation',
        status: 400,
        title: expect.any(String),
      });
    });

    it('answers 404 for a problem type that does not exist', async () => {
      for (const code of ['nope', 'toString', '__proto__']) {
        const r = await c.request('GET', `/problems/${code}`);
        expect(r.status, code).toBe(404);
      }
    });
  });
});
