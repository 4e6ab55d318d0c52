/** Query strings for API calls and CSV links, built the same way for both. */

export type QueryValue = string | number | boolean | readonly string[] | null | undefined;

/**
 * `path?key=value&…` in the order given; empty strings, null and undefined are left out, a list
 * becomes one comma-separated value (left out when empty).
 */
export function withQuery(path: string, params: Record<string, QueryValue>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length > 0) search.set(key, value.join(','));
      continue;
    }
    search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}

/** The link that downloads a report as CSV: the same route and filters, `format=csv`. */
export function csvUrl(path: string, params: Record<string, QueryValue>): string {
  return withQuery(path, { ...params, format: 'csv' });
}
