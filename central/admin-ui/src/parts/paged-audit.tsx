import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { AuditPage } from '../../../../shared/protocol/console.ts';
import { useFetch } from '../hooks.ts';
import { withQuery, type QueryValue } from '../query.ts';
import { AuditTable } from './audit-table.tsx';
import { LoadState } from './cells.tsx';

export const AUDIT_PAGE_SIZE = 50;

/**
 * An audit list paged newest first: "Older" asks for rows before the last one shown, "Newer"
 * goes back a page. `filters` is part of the query; changing it starts again at the newest.
 */
export function PagedAudit(props: {
  path: string;
  filters: Record<string, QueryValue>;
  testid: string;
}) {
  const { t } = useTranslation();
  const filterKey = JSON.stringify(props.filters);
  const [paging, setPaging] = useState<{ filterKey: string; stack: number[] }>({
    filterKey,
    stack: [],
  });
  const stack = paging.filterKey === filterKey ? paging.stack : [];
  const beforeId = stack.at(-1);
  const page = useFetch<AuditPage>(
    withQuery(props.path, { ...props.filters, beforeId, limit: AUDIT_PAGE_SIZE }),
  );
  const entries = page.data?.entries ?? [];
  const last = entries.at(-1);
  return (
    <div data-testid={`${props.testid}-pager`}>
      <LoadState
        isLoading={page.isLoading}
        problem={page.problem}
        hasData={page.data !== undefined}
        testid={props.testid}
      />
      <AuditTable
        entries={entries}
        testid={props.testid}
        isLoaded={page.data !== undefined && !page.isLoading}
      />
      <div className="pager">
        <button
          type="button"
          disabled={stack.length === 0 || page.isLoading}
          onClick={() => {
            setPaging({ filterKey, stack: stack.slice(0, -1) });
          }}
          data-testid={`${props.testid}-newer`}
        >
          {t('common.newer')}
        </button>
        <span data-testid={`${props.testid}-page`} data-value={stack.length + 1}>
          {t('common.page', { page: stack.length + 1 })}
        </span>
        <button
          type="button"
          disabled={entries.length < AUDIT_PAGE_SIZE || last === undefined || page.isLoading}
          onClick={() => {
            if (last) setPaging({ filterKey, stack: [...stack, last.id] });
          }}
          data-testid={`${props.testid}-older`}
        >
          {t('common.older')}
        </button>
      </div>
    </div>
  );
}
