import type { z } from 'zod';
import { ApiProblem, pointerOfPath } from './problem.ts';

/**
 * Checks a form's value with the protocol's own schema before sending, so a mistake is shown
 * next to its field at once, in the words central would use; central checks again anyway.
 */
export function checkWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
): { ok: true; data: z.output<S> } | { ok: false; problem: ApiProblem } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  const errors = result.error.issues.map((issue) => ({
    pointer: pointerOfPath(issue.path),
    message: issue.message,
  }));
  return {
    ok: false,
    problem: new ApiProblem({
      status: 400,
      code: 'validation',
      title: 'The request is not valid',
      detail:
        errors.length === 1
          ? `Check this field: ${errors[0]?.message ?? ''}.`
          : `Check the ${errors.length} marked fields.`,
      errors,
    }),
  };
}
