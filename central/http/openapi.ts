import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
} from 'zod-openapi';
import { z } from 'zod';
import { Problem } from '../../shared/protocol/api.ts';
import type { AnyRoute } from './route.ts';

/** Builds the OpenAPI 3.1 document from the same route table that serves requests. */
export function buildOpenApi(
  routes: AnyRoute[],
  version: string,
): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of routes) {
    const path = r.path.replace(/:(\w+)/g, '{$1}');
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(r.responses)) {
      responses[status] = response.schema
        ? {
            description: response.description,
            content: { 'application/json': { schema: response.schema } },
          }
        : { description: response.description };
    }
    responses.default = {
      description: 'A problem: what was wrong and what to do (RFC 9457). Nothing was written.',
      content: { 'application/problem+json': { schema: Problem } },
    };
    const operation: ZodOpenApiOperationObject = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      ...(r.access === 'public'
        ? { security: [] }
        : { description: `Needs a ${r.access} or above.` }),
      requestParams: {
        ...(r.params ? { path: r.params as z.ZodObject } : {}),
        ...(r.query ? { query: r.query as z.ZodObject } : {}),
        ...(r.headers ? { header: r.headers as z.ZodObject } : {}),
      },
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: r.body } } } }
        : {}),
      responses: responses as ZodOpenApiOperationObject['responses'],
    };
    paths[path] = { ...paths[path], [r.method]: operation };
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Showroom Loyalty central API',
      version,
      description:
        'Members, sales, returns and the points ledger of one retail chain. Amounts are integer paise, points are integers. Writes from terminals carry an Idempotency-Key.',
    },
    security: [{ bearer: [] }, { consoleCookie: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A token from POST /api/auth/login.',
        },
        consoleCookie: {
          type: 'apiKey',
          in: 'cookie',
          name: 'sl_session',
          description:
            'The console session from POST /api/console/session (__Host-sl_session over https); every request that changes something also sends X-CSRF-Token.',
        },
      },
    },
    paths,
  });
}
