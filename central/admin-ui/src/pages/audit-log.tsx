import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { PageHead } from '../layout.tsx';
import { PagedAudit } from '../parts/paged-audit.tsx';
import { useSession } from '../session.tsx';

type Filters = { action: string; username: string; targetType: string; targetId: string };
const EMPTY: Filters = { action: '', username: '', targetType: '', targetId: '' };

/** The audit log (admins): who changed what and when, filtered by action, user or target. */
export function AuditLog() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);

  function submit(event: SubmitEvent) {
    event.preventDefault();
    setFilters({
      action: draft.action.trim(),
      username: draft.username.trim(),
      targetType: draft.targetType.trim(),
      targetId: draft.targetId.trim(),
    });
  }

  if (!isAdmin) {
    return (
      <section>
        <PageHead title={t('audit.title')} testid="audit-title" />
        <p className="note" data-testid="audit-admin-only">
          {t('audit.adminOnly')}
        </p>
      </section>
    );
  }
  const field = (name: keyof Filters) => (
    <label className="field">
      <span className="field-label">{t(`audit.filter.${name}`)}</span>
      <input
        value={draft[name]}
        onChange={(e) => {
          const value = e.target.value;
          setDraft((d) => ({ ...d, [name]: value }));
        }}
        data-testid={`audit-filter-${name}`}
      />
    </label>
  );
  return (
    <section>
      <PageHead title={t('audit.title')} testid="audit-title" />
      <form className="card filters" onSubmit={submit} data-testid="audit-filters">
        <div className="form-row">
          {field('action')}
          {field('username')}
          {field('targetType')}
          {field('targetId')}
          <button type="submit" className="primary" data-testid="audit-apply">
            {t('audit.apply')}
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
            }}
            data-testid="audit-clear"
          >
            {t('audit.clear')}
          </button>
        </div>
      </form>
      <PagedAudit path="/api/audit" filters={filters} testid="audit-table" />
    </section>
  );
}
