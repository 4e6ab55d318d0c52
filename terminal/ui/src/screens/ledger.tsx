import { useEffect, useState, type SubmitEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Api } from '../api.ts';
import {
  addDays,
  formatDateTime,
  formatIsoDate,
  formatPoints,
  kolkataDate,
  parseIndianDate,
} from '../format.ts';
import { describeError } from '../i18n/errors.ts';
import { KeyButton, useShortcuts } from '../parts.tsx';
import type { LedgerView, MemberCard, StaffRole } from '../types.ts';

type LedgerProps = {
  api: Api;
  member: MemberCard;
  role: StaffRole;
  onBack: () => void;
  onPrinted: (text: string, isOk: boolean) => void;
};

/** Days the ledger shows unless the cashier picks other dates. */
export const DEFAULT_LEDGER_DAYS = 90;

type Range = { from: string; to: string };
type Answer = { range: Range; ledger: LedgerView | null; failure: unknown };

/** The member's points ledger from central, and (for a manager) its print-out. */
export function LedgerScreen({ api, member, role, onBack, onPrinted }: LedgerProps) {
  const { t, i18n } = useTranslation();
  const [range, setRange] = useState<Range>(() => {
    const today = kolkataDate(new Date());
    return { from: addDays(today, -DEFAULT_LEDGER_DAYS), to: today };
  });
  const [from, setFrom] = useState(() => formatIsoDate(range.from));
  const [to, setTo] = useState(() => formatIsoDate(range.to));
  const [rangeError, setRangeError] = useState<string | null>(null);
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [isPrinting, setPrinting] = useState(false);
  const isManager = role === 'manager' || role === 'admin';
  const current = answer !== null && answer.range === range ? answer : null;
  const ledger = current?.ledger ?? null;

  useEffect(() => {
    let isCurrent = true;
    api.ledger(member.mobile, range.from, range.to).then(
      (found) => {
        if (isCurrent) setAnswer({ range, ledger: found, failure: null });
      },
      (failure: unknown) => {
        if (isCurrent) setAnswer({ range, ledger: null, failure });
      },
    );
    return () => {
      isCurrent = false;
    };
  }, [api, member.mobile, range]);

  function show(event: SubmitEvent): void {
    event.preventDefault();
    const fromIso = parseIndianDate(from);
    const toIso = parseIndianDate(to);
    if (fromIso === undefined || fromIso === '' || toIso === undefined || toIso === '') {
      setRangeError(t('ledger.badDate'));
      return;
    }
    if (fromIso > toIso) {
      setRangeError(t('ledger.badRange'));
      return;
    }
    setRangeError(null);
    setRange({ from: fromIso, to: toIso });
  }

  function print(): void {
    if (!isManager || isPrinting) return;
    setPrinting(true);
    api.printLedger(member.mobile, range.from, range.to).then(
      (outcome) => {
        setPrinting(false);
        onPrinted(
          outcome.ok ? t('print.ledgerPrinted') : (outcome.message ?? t('print.failed')),
          outcome.ok,
        );
      },
      (failure: unknown) => {
        setPrinting(false);
        onPrinted(describeError(failure, t, i18n.language), false);
      },
    );
  }

  useShortcuts({
    F10: () => {
      print();
      return true;
    },
    Escape: () => {
      onBack();
      return true;
    },
  });

  return (
    <section className="panel ledger" aria-labelledby="ledger-title">
      <h1 id="ledger-title">{t('ledger.title', { name: member.name })}</h1>
      <form className="inline-form" onSubmit={show} noValidate>
        <label className="field">
          <span className="label">{t('ledger.from')}</span>
          <input
            className="input input-date"
            value={from}
            placeholder={t('common.datePlaceholder')}
            inputMode="numeric"
            autoComplete="off"
            maxLength={10}
            onChange={(event) => {
              setFrom(event.target.value);
            }}
            autoFocus
            data-testid="ledger-from"
          />
        </label>
        <label className="field">
          <span className="label">{t('ledger.to')}</span>
          <input
            className="input input-date"
            value={to}
            placeholder={t('common.datePlaceholder')}
            inputMode="numeric"
            autoComplete="off"
            maxLength={10}
            onChange={(event) => {
              setTo(event.target.value);
            }}
            data-testid="ledger-to"
          />
        </label>
        <KeyButton type="submit" shortcut="Enter" testId="ledger-show">
          {t('ledger.show')}
        </KeyButton>
      </form>

      {rangeError !== null && (
        <p className="message message-error" role="alert" data-testid="ledger-range-error">
          {rangeError}
        </p>
      )}
      {current === null && <p className="hint">{t('common.loading')}</p>}
      {current?.failure != null && (
        <p className="message message-error" role="alert" data-testid="ledger-error">
          {describeError(current.failure, t, i18n.language)}
        </p>
      )}
      {ledger !== null && (
        <>
          <dl className="facts facts-row">
            <div>
              <dt>{t('ledger.opening')}</dt>
              <dd data-testid="ledger-opening" data-points={ledger.openingBalance}>
                {formatPoints(ledger.openingBalance)}
              </dd>
            </div>
            <div>
              <dt>{t('ledger.closing')}</dt>
              <dd data-testid="ledger-closing" data-points={ledger.closingBalance}>
                {formatPoints(ledger.closingBalance)}
              </dd>
            </div>
          </dl>
          <div className="table-scroll">
            <table className="lines ledger-table" data-testid="ledger-table">
              <thead>
                <tr>
                  <th scope="col">{t('ledger.date')}</th>
                  <th scope="col">{t('ledger.kind')}</th>
                  <th scope="col">{t('ledger.showroom')}</th>
                  <th scope="col">{t('ledger.bill')}</th>
                  <th scope="col" className="num">
                    {t('ledger.points')}
                  </th>
                  <th scope="col" className="num">
                    {t('ledger.balance')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {ledger.entries.length === 0 && (
                  <tr>
                    <td colSpan={6} className="empty" data-testid="ledger-empty">
                      {t('ledger.empty')}
                    </td>
                  </tr>
                )}
                {ledger.entries.map((entry, index) => (
                  <tr key={`${entry.at}-${index}`} data-testid={`ledger-row-${index}`}>
                    <td>{formatDateTime(entry.at)}</td>
                    <td>
                      {t(`ledger.kinds.${entry.kind}`)}
                      {entry.note !== null && <span className="line-sku">{entry.note}</span>}
                    </td>
                    <td>{entry.showroomCode ?? '—'}</td>
                    <td className="mono">{entry.billNumber ?? '—'}</td>
                    <td className={entry.points < 0 ? 'num text-bad' : 'num text-good'}>
                      {entry.points > 0 ? '+' : entry.points < 0 ? '−' : ''}
                      {formatPoints(Math.abs(entry.points))}
                    </td>
                    <td className="num">{formatPoints(entry.balanceAfter)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {ledger.truncated && (
            <p className="message message-warn" data-testid="ledger-truncated">
              {t('ledger.truncated')}
            </p>
          )}
        </>
      )}
      <div className="actions">
        <KeyButton
          tone="primary"
          shortcut="F10"
          testId="ledger-print"
          onClick={print}
          disabled={!isManager || isPrinting || ledger === null}
          aria-describedby={isManager ? undefined : 'ledger-manager-only'}
        >
          {t('ledger.print')}
        </KeyButton>
        {!isManager && (
          <span
            className="message message-warn"
            id="ledger-manager-only"
            data-testid="ledger-manager-only"
          >
            {t('ledger.managerOnly')}
          </span>
        )}
        <KeyButton shortcut="Esc" testId="ledger-back" onClick={onBack}>
          {t('common.back')}
        </KeyButton>
      </div>
    </section>
  );
}
