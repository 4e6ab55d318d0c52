import { useTranslation } from 'react-i18next';
import type { AuditEntry } from '../../../../shared/protocol/console.ts';
import { EmptyRow, When } from './cells.tsx';

/** A change's record as compact JSON; the audit never holds secrets. */
function jsonOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  return JSON.stringify(value, null, 1);
}

/** Audit rows, newest first: when, who, what, on what, before → after. */
export function AuditTable(props: { entries: AuditEntry[]; testid: string; isLoaded: boolean }) {
  const { t } = useTranslation();
  return (
    <div className="table-wrap">
      <table data-testid={props.testid} className="audit">
        <thead>
          <tr>
            <th scope="col">{t('audit.at')}</th>
            <th scope="col">{t('audit.who')}</th>
            <th scope="col">{t('audit.action')}</th>
            <th scope="col">{t('audit.target')}</th>
            <th scope="col">{t('audit.before')}</th>
            <th scope="col">{t('audit.after')}</th>
          </tr>
        </thead>
        <tbody>
          {props.entries.map((e) => (
            <tr key={e.id} data-testid={`audit-row-${e.id}`} data-action={e.action}>
              <td className="nowrap">
                <When at={e.at} />
              </td>
              <td>
                <span data-testid="audit-username">{e.username}</span>{' '}
                <span className="muted">
                  ({t(`roles.${e.role}` as 'roles.admin', { defaultValue: e.role })})
                </span>
                {e.ip !== null && <div className="muted mono small">{e.ip}</div>}
              </td>
              <td className="mono" data-testid="audit-action">
                {e.action}
              </td>
              <td className="mono" data-testid="audit-target">
                {e.targetType} {e.targetId}
              </td>
              <td>
                <pre className="json" data-testid="audit-before">
                  {jsonOf(e.before)}
                </pre>
              </td>
              <td>
                <pre className="json" data-testid="audit-after">
                  {jsonOf(e.after)}
                </pre>
              </td>
            </tr>
          ))}
          {props.isLoaded && props.entries.length === 0 && (
            <EmptyRow columns={6} testid={`${props.testid}-empty`}>
              {t('audit.empty')}
            </EmptyRow>
          )}
        </tbody>
      </table>
    </div>
  );
}
