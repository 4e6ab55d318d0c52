import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatRupees } from '../../../../shared/money.ts';
import type { Api } from '../api.ts';
import { formatPoints } from '../format.ts';
import { describeError } from '../i18n/errors.ts';
import { KeyButton, useShortcuts } from '../parts.tsx';
import type { PrintOutcome, SaleDone } from '../types.ts';

type SaleDoneProps = {
  api: Api;
  done: SaleDone;
  pointValuePaise: number;
  onNext: () => void;
};

/** What the sale did: points earned (pending while queued), the new balance, the slip. */
export function SaleDoneScreen({ api, done, pointValuePaise, onNext }: SaleDoneProps) {
  const { t, i18n } = useTranslation();
  const [print, setPrint] = useState<PrintOutcome | null>(done.print);
  const [printFailure, setPrintFailure] = useState<string | null>(null);
  const [isBusy, setBusy] = useState(false);
  const isQueued = done.delivery === 'queued';
  const canReprint = print !== null && !print.ok && print.canReprint;

  function reprint(): void {
    if (!canReprint || isBusy) return;
    setBusy(true);
    api.reprint('sale-slip').then(
      (outcome) => {
        setBusy(false);
        setPrint(outcome);
        setPrintFailure(null);
      },
      (failure: unknown) => {
        setBusy(false);
        setPrintFailure(describeError(failure, t, i18n.language));
      },
    );
  }

  useShortcuts({
    Enter: () => {
      // Enter on a focused button presses that button.
      if (document.activeElement instanceof HTMLButtonElement) return false;
      onNext();
      return true;
    },
    Escape: () => {
      onNext();
      return true;
    },
    'Alt+R': () => {
      reprint();
      return true;
    },
  });

  return (
    <section className="panel sale-done" aria-labelledby="done-title" data-testid="sale-result">
      <h1 id="done-title">{t('done.title', { bill: done.billNumber })}</h1>
      <dl className="facts facts-big">
        <div>
          <dt>{t('done.pointsEarned')}</dt>
          <dd data-testid="sale-result-points" data-points={done.pendingPoints}>
            <strong className="big-number">{formatPoints(done.pendingPoints)}</strong>{' '}
            {isQueued && (
              <span className="tag tag-wait" data-testid="sale-result-pending-note">
                {t('done.queued')}
              </span>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('done.newBalance')}</dt>
          <dd data-testid="sale-result-balance" data-points={done.member.balance}>
            <strong className="big-number">
              {t('member.points', {
                count: done.member.balance,
                points: formatPoints(done.member.balance),
              })}
            </strong>{' '}
            <span className="money">= {formatRupees(done.member.balance * pointValuePaise)}</span>
            {done.member.pendingPoints > 0 && (
              <>
                {' '}
                <span className="tag tag-wait">
                  {t('member.pendingShort', { points: formatPoints(done.member.pendingPoints) })}
                </span>
              </>
            )}
          </dd>
        </div>
        <div>
          <dt>{t('done.slip')}</dt>
          <dd
            data-testid="sale-result-print"
            data-ok={print === null ? 'none' : String(print.ok)}
            className={print !== null && !print.ok ? 'text-bad' : undefined}
          >
            {print === null
              ? t('done.notPrinted')
              : print.ok
                ? t('done.printed')
                : (print.message ?? t('done.printFailed'))}
          </dd>
        </div>
      </dl>
      {printFailure !== null && (
        <p className="message message-error" role="alert">
          {printFailure}
        </p>
      )}
      <div className="actions">
        <KeyButton
          tone="primary"
          shortcut="Enter"
          testId="sale-result-next"
          onClick={onNext}
          autoFocus
        >
          {t('done.next')}
        </KeyButton>
        {canReprint && (
          <KeyButton
            shortcut="Alt+R"
            testId="sale-result-reprint"
            onClick={reprint}
            disabled={isBusy}
          >
            {t('done.reprint')}
          </KeyButton>
        )}
      </div>
    </section>
  );
}
