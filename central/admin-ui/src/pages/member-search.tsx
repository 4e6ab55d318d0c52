import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import {
  readSearchTerm,
  type MemberSearchResult,
} from '../../../../shared/protocol/members-admin.ts';
import { useDebounced, useFetch } from '../hooks.ts';
import { PageHead } from '../layout.tsx';
import { EmptyRow, LoadState, Num, When } from '../parts/cells.tsx';
import { withQuery } from '../query.ts';

/** How long typing must pause before the search runs. */
export const SEARCH_DEBOUNCE_MS = 150;

/** Find a member by mobile (whole, or its last digits) or by name, as one types. */
export function MemberSearch() {
  const { t } = useTranslation();
  const [params, setParams] = useSearchParams();
  const text = params.get('q') ?? '';
  const settled = useDebounced(text, SEARCH_DEBOUNCE_MS);
  const term = settled.trim() === '' ? null : readSearchTerm(settled);
  const isSearchable = term !== null && !('error' in term);
  const result = useFetch<MemberSearchResult>(
    isSearchable ? withQuery('/api/members/search', { q: settled.trim(), limit: 50 }) : null,
  );
  const members = isSearchable ? (result.data?.members ?? []) : [];
  return (
    <section>
      <PageHead title={t('members.title')} testid="members-title" />
      <div className="search-box">
        <label>
          <span className="field-label">{t('members.searchLabel')}</span>
          <input
            type="search"
            value={text}
            placeholder={t('members.searchPlaceholder')}
            autoComplete="off"
            spellCheck={false}
            // The page is for searching: the box takes the keyboard at once.
            autoFocus
            onChange={(e) => {
              setParams(e.target.value === '' ? {} : { q: e.target.value }, { replace: true });
            }}
            data-testid="member-search"
          />
        </label>
        <p className="field-hint" data-testid="member-search-hint">
          {term !== null && 'error' in term ? term.error : t('members.searchHint')}
        </p>
      </div>
      {isSearchable && (
        <>
          <LoadState
            isLoading={result.isLoading}
            problem={result.problem}
            hasData={result.data !== undefined}
            testid="member-search"
          />
          <div className="table-wrap">
            <table data-testid="member-results" aria-busy={result.isLoading}>
              <thead>
                <tr>
                  <th scope="col">{t('members.name')}</th>
                  <th scope="col">{t('members.mobile')}</th>
                  <th scope="col" className="num">
                    {t('members.balance')}
                  </th>
                  <th scope="col">{t('members.tier')}</th>
                  <th scope="col">{t('members.enrolledAt')}</th>
                  <th scope="col">{t('members.lastVisit')}</th>
                </tr>
              </thead>
              <tbody>
                {members.map((m, i) => (
                  <tr key={m.id} data-testid={`member-result-${i}`} data-member-id={m.id}>
                    <td>
                      <Link
                        to={`/members/${m.mergedIntoMemberId ?? m.id}`}
                        data-testid={`member-result-link-${i}`}
                      >
                        {m.name}
                      </Link>
                      {m.mergedIntoMemberId !== null && (
                        <span className="badge soft">
                          {t('members.mergedInto', { id: m.mergedIntoMemberId })}
                        </span>
                      )}
                    </td>
                    <td className="mono" data-value={m.mobile}>
                      {m.mobile}
                    </td>
                    <Num value={m.balance} kind="points" testid="member-result-balance" />
                    <td>{m.tier}</td>
                    <td>
                      <When at={m.enrolledAt} /> {m.enrolledShowroomCode ?? ''}
                    </td>
                    <td>
                      <When at={m.lastVisitAt} empty={t('members.never')} />
                    </td>
                  </tr>
                ))}
                {result.data && !result.isLoading && members.length === 0 && (
                  <EmptyRow columns={6} testid="member-results-empty">
                    {t('members.noMatch')}
                  </EmptyRow>
                )}
              </tbody>
            </table>
          </div>
          {result.data?.truncated === true && (
            <p className="muted" data-testid="member-results-truncated">
              {t('members.truncated')}
            </p>
          )}
        </>
      )}
    </section>
  );
}
