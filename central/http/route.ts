import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { StaffRole } from '../../shared/protocol/api.ts';
import type { StaffRecord } from '../db/staff-store.ts';

type Schema = z.ZodType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

/** Who may call a route: anyone, or staff of at least this role. */
export type Access = 'public' | StaffRole;

/** What a handler returns: a status and a JSON body. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** One operation of the HTTP API: its schemas validate requests and make the OpenAPI document. */
export interface RouteDef<
  A extends Access,
  P extends Schema | undefined,
  Q extends Schema | undefined,
  H extends Schema | undefined,
  B extends Schema | undefined,
> {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  access: A;
  params?: P;
  query?: Q;
  headers?: H;
  body?: B;
  /** A larger body limit than the app's (BODY_LIMIT_KB), for a bulk upload. */
  bodyLimitKb?: number;
  responses: Record<number, { description: string; schema?: Schema }>;
  handler: (input: {
    params: Out<P>;
    query: Out<Q>;
    headers: Out<H>;
    body: Out<B>;
    staff: A extends 'public' ? undefined : StaffRecord;
    req: Request;
    res: Response;
  }) => Promise<Reply>;
}

/** A route with its types erased, for the router and the document. */
export type AnyRoute = RouteDef<
  Access,
  Schema | undefined,
  Schema | undefined,
  Schema | undefined,
  Schema | undefined
>;

/** Declares a route; inference gives the handler typed, validated input. */
export function route<
  A extends Access,
  P extends Schema | undefined = undefined,
  Q extends Schema | undefined = undefined,
  H extends Schema | undefined = undefined,
  B extends Schema | undefined = undefined,
>(def: RouteDef<A, P, Q, H, B>): AnyRoute {
  return def;
}
