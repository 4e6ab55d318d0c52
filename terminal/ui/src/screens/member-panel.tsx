import { useTranslation } from 'react-i18next';
import { formatRupees } from '../../../../shared/money.ts';
import { formatDate, formatPoints } from '../format.ts';
import { KeyButton, useShortcuts } from '../parts.tsx';
import type { MemberCard } from '../types.ts';

type MemberPanelProps = {
  member: MemberCard;
  pointValuePaise: number;
  hasOpenBill: boolean;
  onNewSale: () => void;
  onLedger: () => void;
  onPrintSlip: () => void;
  onPrintCard: () => void;
  onChangeMember: () => void;
};

/** The member's card on screen, and what can be done for them. */
export function MemberPanel(props: MemberPanelProps) {
  const { member, pointValuePaise, hasOpenBill } = props;
  const { t } = useTranslation();

  useShortcuts({
    F4: () => {
      props.onNewSale();
      return true;
    },
    F6: () => {
      props.onLedger();
      return true;
    },
    F7: () => {
      props.onPrintSlip();
      return true;
    },
    F3: () => {
      props.onPrintCard();
      return true;
    },
    Escape: () => {
      props.onChangeMember();
      return true;
    },
  });

  return (
    <section className="panel member" aria-labelledby="member-name">
      <MemberSummary member={member} pointValuePaise={pointValuePaise} />
      <div className="actions actions-grid">
        <KeyButton
          tone="primary"
          shortcut="F4"
          testId="member-new-sale"
          onClick={props.onNewSale}
          autoFocus
        >
          {hasOpenBill ? t('member.resumeSale') : t('member.newSale')}
        </KeyButton>
        <KeyButton shortcut="F6" testId="member-ledger" onClick={props.onLedger}>
          {t('member.ledger')}
        </KeyButton>
        <KeyButton shortcut="F7" testId="member-print-slip" onClick={props.onPrintSlip}>
          {t('member.printSlip')}
        </KeyButton>
        <KeyButton shortcut="F3" testId="member-print-card" onClick={props.onPrintCard}>
          {t('member.printCard')}
        </KeyButton>
        <KeyButton shortcut="Esc" testId="member-change" onClick={props.onChangeMember}>
          {t('member.change')}
        </KeyButton>
      </div>
      <p className="hint">{t('member.redeemHint')}</p>
    </section>
  );
}

/** Name, mobile, balance in points and rupees, pending points, tier, last visit. */
export function MemberSummary({
  member,
  pointValuePaise,
  isCompact = false,
}: {
  member: MemberCard;
  pointValuePaise: number;
  isCompact?: boolean;
}) {
  const { t } = useTranslation();
  const balance = (
    <>
      <strong className="big-number" data-testid="member-balance" data-points={member.balance}>
        {t('member.points', { count: member.balance, points: formatPoints(member.balance) })}
      </strong>{' '}
      <span className="money" data-testid="member-balance-value">
        = {formatRupees(member.balance * pointValuePaise)}
      </span>
    </>
  );
  const pending = (
    <span data-testid="member-pending" data-points={member.pendingPoints}>
      {isCompact
        ? t('member.pendingShort', { points: formatPoints(member.pendingPoints) })
        : t('member.points', {
            count: member.pendingPoints,
            points: formatPoints(member.pendingPoints),
          })}{' '}
      {member.pendingPoints > 0 && (
        <span className="tag tag-wait">{t('member.waitingForCentral')}</span>
      )}
    </span>
  );
  if (isCompact) {
    // One line above the bill: who it is for and what they hold.
    return (
      <div className="member-line">
        <strong className="member-line-name" data-testid="member-name">
          {member.name}
        </strong>
        <span className="mono" data-testid="member-mobile">
          {member.maskedMobile}
        </span>
        <span>{balance}</span>
        {member.pendingPoints > 0 && pending}
      </div>
    );
  }
  return (
    <div className="member-summary">
      <h1 id="member-name" className="member-name" data-testid="member-name">
        {member.name}
      </h1>
      <dl className="facts">
        <div>
          <dt>{t('member.mobile')}</dt>
          <dd className="mono" data-testid="member-mobile">
            {member.maskedMobile}
          </dd>
        </div>
        <div>
          <dt>{t('member.balance')}</dt>
          <dd>{balance}</dd>
        </div>
        <div>
          <dt>{t('member.pending')}</dt>
          <dd>{pending}</dd>
        </div>
        <div>
          <dt>{t('member.tier')}</dt>
          <dd data-testid="member-tier">{member.tier}</dd>
        </div>
        <div>
          <dt>{t('member.lastVisit')}</dt>
          <dd data-testid="member-last-visit">
            {member.lastVisitAt === null ? t('member.noVisit') : formatDate(member.lastVisitAt)}
          </dd>
        </div>
      </dl>
      {member.isPending && (
        <p className="tag tag-wait" data-testid="member-enrolment-pending">
          {t('member.enrolmentPending')}
        </p>
      )}
    </div>
  );
}
