import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import { CounterError } from '../core.ts';
import type { Counter } from './counter.ts';
import { sendError } from './errors.ts';
import {
  ApiError,
  BillNumberInput,
  CancelInput,
  ConfirmInput,
  MemberCard,
  PrintOutcome,
  QuoteResponse,
  RedemptionView,
  type SaleLine,
} from './contract.ts';
import pkg from '../../package.json' with { type: 'json' };

/** Where the chain's billing software talks to this counter. */
export const POS_PREFIX = '/pos/v1';

const Mobile = z
  .string()
  .min(10)
  .max(20)
  .meta({ description: "The customer's mobile: 10 digits, or +91 and 10 digits." });

/** One line of the billing software's bill. */
export const PosLine = z
  .strictObject({
    sku: z.string().min(1).max(64),
    categoryCode: z
      .string()
      .min(1)
      .max(16)
      .optional()
      .meta({ description: "The item's loyalty category; omit it to take the catalogue's." }),
    quantity: z.int().min(1).max(10_000).default(1),
    amountPaise: z.int().min(1).meta({ description: 'Line amount in paise (₹1 = 100).' }),
  })
  .meta({ id: 'PosLine' });

export const PosBill = z
  .strictObject({
    billNumber: BillNumberInput,
    mobile: Mobile.optional(),
    lines: z.array(PosLine).min(1).max(500),
  })
  .meta({ id: 'PosBill' });

export const PosSale = PosBill.extend({
  mobile: Mobile,
  redemptionId: z.int().min(1).optional(),
  printSlip: z
    .boolean()
    .default(true)
    .meta({ description: "Print the loyalty slip on this counter's printer." }),
}).meta({ id: 'PosSale' });

export const PosBillQuote = z
  .object({
    billNumber: z.string(),
    billAmountPaise: z.int(),
    member: MemberCard.nullable(),
    points: z.int().meta({ description: 'Points this bill earns at the rates in force now.' }),
    linePoints: z.array(z.int()),
    redeemable: QuoteResponse.nullable(),
    /** Why `redeemable` is null: no member, or central not reachable. */
    redeemableMessage: z.string().nullable(),
  })
  .meta({ id: 'PosBillQuote' });

export const PosSaleDone = z
  .object({
    billNumber: z.string(),
    key: z.string(),
    points: z.int(),
    member: MemberCard,
    delivery: z.enum(['queued', 'applied']).meta({
      description:
        "'queued': kept at the counter until central is reachable; 'applied': in the ledger.",
    }),
    print: PrintOutcome.nullable(),
  })
  .meta({ id: 'PosSaleDone' });

export const PosRedeem = z
  .strictObject({
    billNumber: BillNumberInput,
    mobile: Mobile,
    billAmountPaise: z.int().min(1),
    points: z.int().min(1),
  })
  .meta({ id: 'PosRedeem' });

interface PosRoute {
  method: 'get' | 'post';
  path: string;
  operationId: string;
  summary: string;
  params?: z.ZodObject;
  body?: z.ZodType;
  response: z.ZodType;
  status?: number;
  handle: (input: { body: unknown; params: Record<string, string> }) => unknown;
}

/** Fills in each line's category from the catalogue when the billing software left it out. */
function withCategories(counter: Counter, lines: z.output<typeof PosLine>[]): SaleLine[] {
  return lines.map((line, index) => {
    const categoryCode = line.categoryCode ?? counter.product(line.sku)?.categoryCode;
    if (!categoryCode) {
      throw new CounterError(
        'validation',
        `lines.${index}.categoryCode: item ${line.sku} is not in the catalogue; send its category.`,
      );
    }
    return { sku: line.sku, categoryCode, quantity: line.quantity, amountPaise: line.amountPaise };
  });
}

function routes(counter: Counter): PosRoute[] {
  const Id = z.object({ id: z.coerce.number().int().min(1) });
  const idOf = (params: Record<string, string>): number => Id.parse(params).id;
  return [
    {
      method: 'get',
      path: '/members/:mobile',
      operationId: 'getMember',
      summary: "A member by mobile, from this counter's cache (works offline).",
      params: z.object({ mobile: Mobile }),
      response: MemberCard,
      handle: ({ params }) => counter.member(params.mobile ?? ''),
    },
    {
      method: 'post',
      path: '/bills/quote',
      operationId: 'quoteBill',
      summary:
        'What a bill earns and what its member may redeem on it. Writes nothing; call it as the bill changes.',
      body: PosBill,
      response: PosBillQuote,
      handle: async ({ body }) => {
        const bill = PosBill.parse(body);
        const lines = withCategories(counter, bill.lines);
        const preview = counter.preview(lines);
        const member = bill.mobile ? counter.member(bill.mobile) : null;
        let redeemable: QuoteResponse | null = null;
        let redeemableMessage: string | null = member ? null : 'No member on this bill.';
        if (member) {
          try {
            redeemable = await counter.core.quoteRedemption({
              mobile: member.mobile,
              billNumber: bill.billNumber,
              billAmountPaise: preview.billAmountPaise,
            });
          } catch (error) {
            if (!(error instanceof CounterError)) throw error;
            redeemableMessage = error.message;
          }
        }
        return {
          billNumber: bill.billNumber,
          billAmountPaise: preview.billAmountPaise,
          member,
          points: preview.points,
          linePoints: preview.linePoints,
          redeemable,
          redeemableMessage,
        };
      },
    },
    {
      method: 'post',
      path: '/bills',
      operationId: 'recordBill',
      summary:
        'Records the paid bill: its member earns points (kept at the counter until central is reachable). The same bill number again returns the first result.',
      body: PosSale,
      response: PosSaleDone,
      status: 201,
      handle: async ({ body }) => {
        const sale = PosSale.parse(body);
        const done = await counter.completeSale({
          billNumber: sale.billNumber,
          mobile: sale.mobile,
          lines: withCategories(counter, sale.lines),
          redemptionId: sale.redemptionId,
          shouldPrint: sale.printSlip,
        });
        return {
          billNumber: done.billNumber,
          key: done.key,
          points: done.pendingPoints,
          member: done.member,
          delivery: done.delivery,
          print: done.print,
        };
      },
    },
    {
      method: 'post',
      path: '/redemptions',
      operationId: 'requestRedemption',
      summary: 'Asks central to send the member an OTP for these points on this bill.',
      body: PosRedeem,
      response: RedemptionView,
      status: 201,
      handle: ({ body }) => counter.core.requestRedemption(PosRedeem.parse(body)),
    },
    {
      method: 'get',
      path: '/redemptions/:id',
      operationId: 'getRedemption',
      summary: "Where a redemption stands, with its OTP's SMS delivery.",
      params: Id,
      response: RedemptionView,
      handle: ({ params }) => counter.core.redemptionStatus(idOf(params)),
    },
    {
      method: 'post',
      path: '/redemptions/:id/resend',
      operationId: 'resendOtp',
      summary: 'A new OTP for the same redemption, within the resend limits.',
      params: Id,
      response: RedemptionView,
      handle: ({ params }) => counter.core.resendOtp(idOf(params)),
    },
    {
      method: 'post',
      path: '/redemptions/:id/confirm',
      operationId: 'confirmRedemption',
      summary:
        'Redeems with the OTP the member read out; the discount is `valuePaise`. Then record the bill with this redemptionId.',
      params: Id,
      body: ConfirmInput,
      response: RedemptionView,
      handle: ({ params, body }) =>
        counter.core.confirmRedemption(idOf(params), ConfirmInput.parse(body).otp),
    },
    {
      method: 'post',
      path: '/redemptions/:id/cancel',
      operationId: 'cancelRedemption',
      summary: 'Gives the points back while the bill is open.',
      params: Id,
      body: CancelInput,
      response: RedemptionView,
      handle: ({ params, body }) =>
        counter.core.cancelRedemption(idOf(params), CancelInput.parse(body ?? {}).reason),
    },
  ];
}

/** The OpenAPI 3.1 document of the POS API, built from the same table that serves it. */
export function buildPosOpenApi(counter: Counter): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of routes(counter)) {
    const openPath = `${POS_PREFIX}${r.path.replace(/:(\w+)/g, '{$1}')}`;
    paths[openPath] = {
      ...paths[openPath],
      [r.method]: {
        operationId: r.operationId,
        summary: r.summary,
        tags: ['POS'],
        ...(r.params ? { requestParams: { path: r.params } } : {}),
        ...(r.body
          ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } }
          : {}),
        responses: {
          [String(r.status ?? 200)]: {
            description: 'Done.',
            content: { 'application/json': { schema: r.response } },
          },
          default: {
            description:
              'Refused: `message` says why in words a cashier can act on; nothing was written. 401 without the token, 404 unknown member, 422 invalid bill, 503 central unreachable (redemption only).',
            content: { 'application/json': { schema: ApiError } },
          },
        },
      },
    };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Showroom Loyalty counter POS API',
      version: pkg.version,
      description:
        "For the chain's billing software on the same machine as the counter (http://127.0.0.1 only). Amounts are integer paise, points integers. Send `Authorization: Bearer <token>` with the token from the terminal's data folder (file local-token). Sales are kept at the counter when central is unreachable and sent when it is back; redemption needs central.",
    },
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  });
}

/** Mounts the POS API under /pos/v1; its OpenAPI document is at /pos/v1/openapi.json. */
export function mountPosApi(
  app: Express,
  options: { counter: Counter; guard: RequestHandler; log?: (error: unknown) => void },
): void {
  const { counter, log } = options;
  const router = express.Router();
  const document = buildPosOpenApi(counter);
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });
  router.use(options.guard);
  router.use(express.json({ limit: '256kb' }));
  for (const r of routes(counter)) {
    router[r.method](r.path, async (req: Request, res: Response) => {
      try {
        const result = await r.handle({
          body: req.body as unknown,
          params: req.params as Record<string, string>,
        });
        res.status(r.status ?? 200).json(result);
      } catch (error) {
        sendError(res, error, log);
      }
    });
  }
  router.use((error: unknown, _req: Request, res: Response, _next: express.NextFunction) => {
    const type = (error as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      res.status(400).json({ code: 'bad-json', message: 'The request body is not valid JSON.' });
      return;
    }
    res.status(400).json({ code: 'bad-request', message: 'The request could not be read.' });
  });
  router.use((_req, res) => {
    res.status(404).json({ code: 'not-found', message: 'There is no such POS API operation.' });
  });
  app.use(POS_PREFIX, router);
}
