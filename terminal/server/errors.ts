import type { Request, Response } from 'express';
import { z } from 'zod';
import { CounterError } from '../core.ts';

/** Statuses of the counter's own refusals (central's come with theirs, refuse() sets its own). */
const HTTP_STATUS: Record<string, number> = {
  'not-found': 404,
  'not-a-member': 404,
  offline: 503,
  'no-answer': 504,
  'no-rules': 503,
  forbidden: 403,
  'duplicate-key': 409,
  'bill-taken': 409,
  'no-printer': 409,
  'not-yet-confirmed': 409,
};

/** Thrown by handlers; becomes `{code, message}` with its status. */
export function refuse(status: number, code: string, message: string): never {
  throw new CounterError(code, message, status);
}

/** Turns a thrown error into the API's `{code, message}` answer. */
export function sendError(res: Response, error: unknown, log?: (error: unknown) => void): void {
  if (error instanceof z.ZodError) {
    const issue = error.issues[0];
    const where = issue?.path.join('.') ?? '';
    res.status(422).json({
      code: 'validation',
      message: `${where ? `${where}: ` : ''}${issue?.message ?? 'invalid input'}`,
    });
    return;
  }
  if (error instanceof CounterError) {
    res.status(error.status ?? HTTP_STATUS[error.code] ?? 422).json({
      code: error.code,
      message: error.message,
    });
    return;
  }
  log?.(error);
  res.status(500).json({
    code: 'internal',
    message: 'Something went wrong at this counter; the sale data is safe. Try again.',
  });
}

type Handler = (req: Request, res: Response) => unknown;

/** Wraps a handler: a returned value is sent as JSON; a thrown error as `{code, message}`. */
export function json(
  handler: (req: Request, res: Response) => unknown,
  log?: (error: unknown) => void,
): Handler {
  return async (req, res) => {
    try {
      const result: unknown = await handler(req, res);
      if (!res.headersSent) res.json(result);
    } catch (error) {
      sendError(res, error, log);
    }
  };
}
