import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldMessages, pointerOfPath, problemOf, unclaimedErrors } from './problem.ts';
import { checkWith } from './validate.ts';

describe('problems central answers with', () => {
  it('reads problem+json: code, detail, field errors, Retry-After', () => {
    const problem = problemOf(
      429,
      'Too Many Requests',
      JSON.stringify({
        type: '/problems/too-many-requests',
        title: 'Too many attempts',
        status: 429,
        detail: 'Too many wrong passwords for admin; wait 15 minutes.',
      }),
      '900',
    );
    expect(problem.code).toBe('too-many-requests');
    expect(problem.detail).toBe('Too many wrong passwords for admin; wait 15 minutes.');
    expect(problem.retryAfterSeconds).toBe(900);
    expect(problem.errors).toEqual([]);
  });

  it('keeps the status line when the body is not JSON', () => {
    const problem = problemOf(502, 'Bad Gateway', '<html>proxy</html>', null);
    expect(problem.code).toBe('http-502');
    expect(problem.detail).toBe('Central answered 502 Bad Gateway.');
    expect(problem.retryAfterSeconds).toBeNull();
  });

  it('puts each field error next to its field; the rest go to the form', () => {
    const errors = [
      { pointer: '/otp/ttlSeconds', message: 'too small' },
      { pointer: '/name', message: 'empty' },
      { pointer: '/changes/1/pointsPer100Rupees', message: 'at most 100' },
      { pointer: 'query:from', message: 'a date' },
    ];
    expect(fieldMessages(errors, '/otp/ttlSeconds')).toEqual(['too small']);
    expect(fieldMessages(errors, '/otp')).toEqual(['too small']);
    expect(fieldMessages(errors, '/changes/1')).toEqual(['at most 100']);
    expect(fieldMessages(errors, '/nam')).toEqual([]);
    expect(unclaimedErrors(errors, ['/otp', '/name', '/changes/1'])).toEqual([
      { pointer: 'query:from', message: 'a date' },
    ]);
  });

  it('checks a form with the protocol schema, in central pointers', () => {
    const schema = z.object({ name: z.string().min(1, 'empty'), otp: z.object({ ttl: z.int() }) });
    const checked = checkWith(schema, { name: '', otp: { ttl: 'x' } });
    expect(checked.ok).toBe(false);
    if (!checked.ok) {
      expect(checked.problem.errors.map((e) => e.pointer)).toEqual(['/name', '/otp/ttl']);
      expect(checked.problem.code).toBe('validation');
    }
    expect(pointerOfPath(['a/b', 0, 'c~d'])).toBe('/a~1b/0/c~0d');
    expect(pointerOfPath([])).toBe('/');
  });
});
