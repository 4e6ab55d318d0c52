import { useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type {
  ShowroomView,
  PairingCodeResponse,
  TerminalList,
  TerminalView,
} from '../../../../shared/protocol/admin.ts';
import { post, seg } from '../api.ts';
import { formatAge, formatCountdown, formatDateTime } from '../format.ts';
import { useAction, useFetch, useNow } from '../hooks.ts';
import { PageHead, ReadOnlyNote } from '../layout.tsx';
import { EmptyRow, LoadState, When } from '../parts/cells.tsx';
import { ConfirmDialog } from '../parts/confirm.tsx';
import { Field, FormProblem, SaveButton } from '../parts/forms.tsx';
import { useSession } from '../session.tsx';

/** A terminal that has not been heard from for this long is shown as not connected. */
const ONLINE_WITHIN_MS = 5 * 60_000;

type Status = 'revoked' | 'online' | 'offline' | 'never';

function statusOf(terminal: TerminalView, nowMs: number): Status {
  if (terminal.revokedAt !== null) return 'revoked';
  if (terminal.lastSeenAt === null) return 'never';
  return nowMs - Date.parse(terminal.lastSeenAt) <= ONLINE_WITHIN_MS ? 'online' : 'offline';
}

/** Counter terminals: who is paired, last seen, version; pairing codes and revocation. */
export function Terminals() {
  const { t } = useTranslation();
  const { isAdmin } = useSession();
  const list = useFetch<TerminalList>('/api/terminals');
  const now = useNow(30_000);
  const [revoking, setRevoking] = useState<TerminalView | null>(null);
  const revoke = useAction();
  const terminals = list.data?.terminals ?? [];
  return (
    <section>
      <PageHead title={t('terminals.title')} testid="terminals-title" />
      <ReadOnlyNote />
      {isAdmin && <PairingPanel />}
      <LoadState
        isLoading={list.isLoading}
        problem={list.problem}
        hasData={list.data !== undefined}
        testid="terminals"
      />
      <div className="table-wrap">
        <table data-testid="terminals-table">
          <thead>
            <tr>
              <th scope="col">{t('terminals.id')}</th>
              <th scope="col">{t('terminals.name')}</th>
              <th scope="col">{t('terminals.showroom')}</th>
              <th scope="col">{t('terminals.lastSeen')}</th>
              <th scope="col">{t('terminals.version')}</th>
              <th scope="col">{t('terminals.status')}</th>
              {isAdmin && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {terminals.map((terminal) => {
              const status = statusOf(terminal, now);
              return (
                <tr key={terminal.id} data-testid={`terminal-row-${terminal.id}`}>
                  <td className="mono nowrap">{terminal.id}</td>
                  <td>{terminal.name}</td>
                  <td data-testid="terminal-showroom">{terminal.showroomCode}</td>
                  <td data-testid="terminal-last-seen" data-value={terminal.lastSeenAt ?? ''}>
                    {terminal.lastSeenAt === null ? (
                      t('terminals.never')
                    ) : (
                      <span title={formatDateTime(terminal.lastSeenAt)}>
                        {formatAge(terminal.lastSeenAt, now)}
                      </span>
                    )}
                  </td>
                  <td data-testid="terminal-version">{terminal.appVersion ?? '—'}</td>
                  <td>
                    <span
                      className={`status status-${status}`}
                      data-testid="terminal-status"
                      data-status={status}
                    >
                      {t(`terminals.statuses.${status}`)}
                    </span>
                    {terminal.revokedAt !== null && (
                      <>
                        {' '}
                        <When at={terminal.revokedAt} />
                      </>
                    )}
                  </td>
                  {isAdmin && (
                    <td>
                      {terminal.revokedAt === null && (
                        <button
                          type="button"
                          className="danger"
                          data-testid={`terminal-revoke-${terminal.id}`}
                          onClick={() => {
                            revoke.setProblem(undefined);
                            setRevoking(terminal);
                          }}
                        >
                          {t('terminals.revoke')}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
            {list.data && terminals.length === 0 && (
              <EmptyRow columns={isAdmin ? 7 : 6} testid="terminals-empty">
                {t('terminals.empty')}
              </EmptyRow>
            )}
          </tbody>
        </table>
      </div>
      <ConfirmDialog
        isOpen={revoking !== null}
        title={t('terminals.revokeTitle')}
        confirmLabel={t('terminals.revoke')}
        isBusy={revoke.isSaving}
        problem={revoke.problem}
        testid="revoke"
        onCancel={() => {
          setRevoking(null);
        }}
        onConfirm={() => {
          if (!revoking) return;
          void revoke
            .run(() => post(`/api/terminals/${seg(revoking.id)}/revoke`, {}))
            .then((ok) => {
              if (ok) {
                setRevoking(null);
                list.reload();
              }
            });
        }}
      >
        {revoking && (
          <p>
            {t('terminals.revokeBody', {
              name: revoking.name,
              id: revoking.id,
              showroom: revoking.showroomCode,
            })}
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}

/** Issue a one-time pairing code for a showroom; the code shows big with its countdown. */
function PairingPanel() {
  const { t } = useTranslation();
  const showrooms = useFetch<{ showrooms: ShowroomView[] }>('/api/showrooms');
  const [showroomCode, setShowroomCode] = useState('');
  const [issued, setIssued] = useState<PairingCodeResponse | null>(null);
  const action = useAction();
  const now = useNow(1000);

  function submit(event: SubmitEvent) {
    event.preventDefault();
    void action.run(async () => {
      setIssued(await post<PairingCodeResponse>('/api/terminals/pairing-codes', { showroomCode }));
    });
  }

  const isExpired = issued !== null && Date.parse(issued.expiresAt) <= now;
  return (
    <form className="card editor" onSubmit={submit} data-testid="pairing-form">
      <h2>{t('terminals.pairTitle')}</h2>
      <p className="muted">{t('terminals.pairLead')}</p>
      <div className="form-row">
        <Field
          label={t('terminals.showroom')}
          pointer="/showroomCode"
          problem={action.problem}
          testid="pairing-showroom"
        >
          <select
            value={showroomCode}
            onChange={(e) => {
              setShowroomCode(e.target.value);
            }}
            data-testid="pairing-showroom"
          >
            <option value="">{t('common.choose')}</option>
            {(showrooms.data?.showrooms ?? []).map((s) => (
              <option key={s.code} value={s.code}>
                {s.code} — {s.name}
              </option>
            ))}
          </select>
        </Field>
        <SaveButton
          isSaving={action.isSaving}
          disabled={showroomCode === ''}
          label={t('terminals.issue')}
          testid="pairing-issue"
        />
      </div>
      <FormProblem problem={action.problem} pointers={['/showroomCode']} testid="pairing-error" />
      {issued && (
        <div
          className={`pairing-code${isExpired ? ' expired' : ''}`}
          data-testid="pairing-result"
          aria-live="polite"
        >
          <span className="muted">{t('terminals.codeFor', { showroom: issued.showroomCode })}</span>
          <output className="big-code" data-testid="pairing-code" data-value={issued.code}>
            {issued.code}
          </output>
          <span data-testid="pairing-expiry" data-value={issued.expiresAt}>
            {isExpired
              ? t('terminals.codeExpired')
              : t('terminals.codeExpires', {
                  time: formatDateTime(issued.expiresAt),
                  left: formatCountdown(issued.expiresAt, now),
                })}
          </span>
        </div>
      )}
    </form>
  );
}
