import { useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import type { LedgerStatement, PurchaseHistory } from '../../../../shared/protocol/api.ts';
import type { z } from 'zod';
import type { MemberProfile } from '../../../../shared/protocol/members-admin.ts';
import { presetRange, rangeProblem, type DateRange } from '../dates.ts';
import { calendarDateIn, formatIsoDate } from '../format.ts';
import { useFetch } from '../hooks.ts';
import { PageHead } from '../layout.tsx';
import { EmptyRow, LoadState, Num, When } from '../parts/cells.tsx';
import { DateRangePicker } from '../parts/date-range.tsx';
import { PagedAudit } from '../parts/paged-audit.tsx';
import { withQuery } from '../query.ts';
import { AdjustPanel, MergePanel, MobileChangePanel } from './member-actions.tsx';

type Tab = 'overview' | 'ledger' | 'purchases' | 'audit';
const TABS: Tab[] = ['overview', 'ledger', 'purchases', 'audit'];
type Panel = 'adjust' | 'mobile' | 'merge' | null;

/** Rows of a ledger page. */
export const LEDGER_PAGE_SIZE = 25;

type Statement = z.infer<typeof LedgerStatement>;
type Purchases = z.infer<typeof PurchaseHistory>;

/** `/members/:memberId`: a fresh page (no panel open) for each member. */
export function MemberPage() {
  const { memberId = '' } = useParams();
  return <MemberView key={memberId} memberId={memberId} />;
}

/** One member: profile, consent, balance; ledger, purchases and audit; adjustment, mobile change, merge. */
function MemberView(props: { memberId: string }) {
  const { t } = useTranslation();
  const { memberId } = props;
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const tabParam = params.get('tab');
  const tab: Tab = TABS.includes(tabParam as Tab) ? (tabParam as Tab) : 'overview';
  const [panel, setPanel] = useState<Panel>(null);
  // Bumped after each change made here: the open tab reads its rows again.
  const [changes, setChanges] = useState(0);
  const changed = () => {
    setChanges((n) => n + 1);
    profile.reload();
  };
  const profile = useFetch<MemberProfile>(`/api/members/${encodeURIComponent(memberId)}/profile`);
  const data = profile.data;
  const member = data?.member;
  return (
    <section>
      <p className="crumbs">
        <Link to="/members" data-testid="member-back">
          {t('member.back')}
        </Link>
      </p>
      <PageHead title={member?.name ?? t('member.title')} testid="member-name">
        {member && data.mergedInto === null && (
          <>
            {(
              [
                ['adjust', t('member.adjust')],
                ['mobile', t('member.changeMobile')],
                ['merge', t('member.merge')],
              ] as const
            ).map(([name, label]) => (
              <button
                key={name}
                type="button"
                aria-pressed={panel === name}
                onClick={() => {
                  setPanel(panel === name ? null : name);
                }}
                data-testid={`member-action-${name}`}
              >
                {label}
              </button>
            ))}
          </>
        )}
      </PageHead>
      <LoadState
        isLoading={profile.isLoading}
        problem={profile.problem}
        hasData={data !== undefined}
        testid="member"
      />
      {data && member && (
        <>
          {data.mergedInto !== null && (
            <p className="note" data-testid="member-merged-into">
              {t('member.mergedIntoNote', {
                name: data.mergedInto.name,
                mobile: data.mergedInto.maskedMobile,
              })}{' '}
              <Link
                to={`/members/${data.mergedInto.memberId}`}
                data-testid="member-merged-into-link"
              >
                {t('member.openSurvivor')}
              </Link>
            </p>
          )}
          {panel === 'adjust' && (
            <AdjustPanel
              member={member}
              onDone={(didChange) => {
                setPanel(null);
                if (didChange) changed();
              }}
            />
          )}
          {panel === 'mobile' && (
            <MobileChangePanel
              profile={data}
              onDone={(didChange) => {
                if (didChange) changed();
                else setPanel(null);
              }}
              onClose={() => {
                setPanel(null);
                changed();
              }}
            />
          )}
          {panel === 'merge' && (
            <MergePanel
              profile={data}
              onClose={() => {
                setPanel(null);
              }}
              onMerged={(targetId) => {
                setPanel(null);
                if (targetId === member.id) changed();
                else void navigate(`/members/${targetId}`);
              }}
            />
          )}
          <div className="tabs" role="tablist" aria-label={t('member.tabs')}>
            {TABS.map((name) => (
              <button
                key={name}
                type="button"
                role="tab"
                aria-selected={tab === name}
                className={tab === name ? 'tab active' : 'tab'}
                data-testid={`member-tab-${name}`}
                onClick={() => {
                  setParams(name === 'overview' ? {} : { tab: name }, { replace: true });
                }}
              >
                {t(`member.tab.${name}`)}
              </button>
            ))}
          </div>
          <div role="tabpanel" data-testid={`member-panel-${tab}`} key={`${tab}-${changes}`}>
            {tab === 'overview' && <Overview profile={data} />}
            {tab === 'ledger' && <LedgerTab memberId={member.id} />}
            {tab === 'purchases' && <PurchasesTab memberId={member.id} />}
            {tab === 'audit' && (
              <PagedAudit
                path={`/api/members/${member.id}/audit`}
                filters={{}}
                testid="member-audit"
              />
            )}
          </div>
        </>
      )}
    </section>
  );
}

function Overview(props: { profile: MemberProfile }) {
  const { t } = useTranslation();
  const { member, consent, balance, stats } = props.profile;
  return (
    <div className="overview">
      <dl className="card facts" data-testid="member-profile">
        <dt>{t('member.mobile')}</dt>
        <dd className="mono" data-testid="member-mobile" data-value={member.mobile}>
          {member.mobile}
        </dd>
        <dt>{t('member.id')}</dt>
        <dd data-testid="member-id" data-value={member.id}>
          {member.id}
        </dd>
        <dt>{t('member.balance')}</dt>
        <dd>
          <Num value={balance.points} kind="points" as="strong" testid="member-balance" />{' '}
          <span className="muted">
            (<Num value={balance.valuePaise} kind="paise" as="span" testid="member-balance-value" />
            )
          </span>
          {balance.debtPoints > 0 && (
            <div className="warn">
              {t('member.debt')}{' '}
              <Num value={balance.debtPoints} kind="points" as="span" testid="member-debt" />
            </div>
          )}
        </dd>
        <dt>{t('member.tier')}</dt>
        <dd data-testid="member-tier">{member.tier}</dd>
        <dt>{t('member.lastVisit')}</dt>
        <dd>
          <When
            at={props.profile.lastVisitAt}
            empty={t('members.never')}
            testid="member-last-visit"
          />
        </dd>
        <dt>{t('member.enrolled')}</dt>
        <dd>
          <When at={member.enrolledAt} /> {member.enrolledShowroomCode ?? ''}
        </dd>
        <dt>{t('member.birthday')}</dt>
        <dd>{member.birthday === null ? '—' : formatIsoDate(member.birthday)}</dd>
        <dt>{t('member.anniversary')}</dt>
        <dd>{member.anniversary === null ? '—' : formatIsoDate(member.anniversary)}</dd>
        <dt>{t('member.email')}</dt>
        <dd>{member.email ?? '—'}</dd>
      </dl>
      <dl className="card facts" data-testid="member-consent">
        <dt>{t('member.consent')}</dt>
        <dd data-testid="member-consent-value" data-value={String(consent.smsConsent)}>
          {consent.smsConsent ? t('member.consentYes') : t('member.consentNo')}
        </dd>
        <dt>{t('member.consentAt')}</dt>
        <dd>
          <When at={consent.at} /> {consent.showroomCode ?? ''} {consent.staffUsername ?? ''}
        </dd>
      </dl>
      <dl className="card facts" data-testid="member-stats">
        <dt>{t('member.stats.sales')}</dt>
        <dd>
          <Num value={stats.sales} kind="count" as="span" testid="member-stats-sales" />
        </dd>
        <dt>{t('member.stats.amount')}</dt>
        <dd>
          <Num value={stats.amountPaise} kind="paise" as="span" testid="member-stats-amount" />
        </dd>
        <dt>{t('member.stats.returned')}</dt>
        <dd>
          <Num
            value={stats.returnedAmountPaise}
            kind="paise"
            as="span"
            testid="member-stats-returned"
          />
        </dd>
        <dt>{t('member.stats.earned')}</dt>
        <dd>
          <Num value={stats.pointsEarned} kind="points" as="span" testid="member-stats-earned" />
        </dd>
        <dt>{t('member.stats.redeemed')}</dt>
        <dd>
          <Num
            value={stats.pointsRedeemed}
            kind="points"
            as="span"
            testid="member-stats-redeemed"
          />
        </dd>
        <dt>{t('member.stats.showrooms')}</dt>
        <dd>
          <Num value={stats.showrooms} kind="count" as="span" testid="member-stats-showrooms" />
        </dd>
      </dl>
      {props.profile.pendingRedemption && (
        <p className="note" data-testid="member-pending-redemption">
          {t('member.pendingRedemption', {
            points: props.profile.pendingRedemption.points,
            bill: props.profile.pendingRedemption.billNumber,
            showroom: props.profile.pendingRedemption.showroomCode,
          })}
        </p>
      )}
      {props.profile.mergedFrom.length > 0 && (
        <div className="card" data-testid="member-merged-from">
          <h3>{t('member.mergedFrom')}</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('member.mergedAt')}</th>
                <th scope="col">{t('members.name')}</th>
                <th scope="col">{t('members.mobile')}</th>
                <th scope="col" className="num">
                  {t('member.pointsMoved')}
                </th>
                <th scope="col">{t('member.reason')}</th>
                <th scope="col">{t('audit.who')}</th>
              </tr>
            </thead>
            <tbody>
              {props.profile.mergedFrom.map((m) => (
                <tr key={m.id} data-testid={`merge-record-${m.id}`}>
                  <td>
                    <When at={m.mergedAt} />
                  </td>
                  <td>
                    <Link to={`/members/${m.sourceMemberId}`}>{m.sourceName}</Link>
                  </td>
                  <td className="mono">{m.sourceMaskedMobile}</td>
                  <Num value={m.pointsMoved} kind="points" />
                  <td>{m.reason}</td>
                  <td>{m.staffUsername ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function useRange(): [DateRange, (range: DateRange) => void, string] {
  const today = calendarDateIn(new Date());
  const [range, setRange] = useState<DateRange>(() => presetRange('last90', today));
  return [range, setRange, today];
}

function LedgerTab(props: { memberId: number }) {
  const { t } = useTranslation();
  const [range, setRange, today] = useRange();
  const [page, setPage] = useState(0);
  const problem = rangeProblem(range);
  const statement = useFetch<Statement>(
    problem === undefined ? withQuery(`/api/members/${props.memberId}/ledger`, range) : null,
  );
  const entries = [...(statement.data?.entries ?? [])].reverse();
  const pages = Math.max(1, Math.ceil(entries.length / LEDGER_PAGE_SIZE));
  const current = Math.min(page, pages - 1);
  const shown = entries.slice(current * LEDGER_PAGE_SIZE, (current + 1) * LEDGER_PAGE_SIZE);
  return (
    <div>
      <DateRangePicker
        value={range}
        today={today}
        problem={problem}
        testid="ledger-range"
        onChange={(next) => {
          setRange(next);
          setPage(0);
        }}
      />
      <LoadState
        isLoading={statement.isLoading}
        problem={statement.problem}
        hasData={statement.data !== undefined}
        testid="ledger"
      />
      {statement.data && (
        <p className="figures">
          {t('ledger.opening')}{' '}
          <Num
            value={statement.data.openingBalance}
            kind="points"
            as="strong"
            testid="ledger-opening"
          />{' '}
          · {t('ledger.closing')}{' '}
          <Num
            value={statement.data.closingBalance}
            kind="points"
            as="strong"
            testid="ledger-closing"
          />
        </p>
      )}
      <div className="table-wrap">
        <table data-testid="ledger-table">
          <thead>
            <tr>
              <th scope="col">{t('ledger.at')}</th>
              <th scope="col">{t('ledger.kind')}</th>
              <th scope="col" className="num">
                {t('ledger.points')}
              </th>
              <th scope="col" className="num">
                {t('ledger.balance')}
              </th>
              <th scope="col">{t('ledger.where')}</th>
              <th scope="col">{t('ledger.bill')}</th>
              <th scope="col">{t('ledger.reason')}</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id} data-testid={`ledger-row-${e.id}`} data-kind={e.kind}>
                <td className="nowrap">
                  <When at={e.at} />
                </td>
                <td>{t(`ledger.kinds.${e.kind}`)}</td>
                <Num value={e.points} kind="signed-points" testid="ledger-points" />
                <Num value={e.balanceAfter} kind="points" testid="ledger-balance" />
                <td>
                  {e.showroomCode ?? '—'}
                  {e.staffUsername !== null && <span className="muted"> · {e.staffUsername}</span>}
                </td>
                <td className="mono">{e.billNumber ?? ''}</td>
                <td>{e.reason ?? ''}</td>
              </tr>
            ))}
            {statement.data && entries.length === 0 && (
              <EmptyRow columns={7} testid="ledger-empty">
                {t('ledger.empty')}
              </EmptyRow>
            )}
          </tbody>
        </table>
      </div>
      {entries.length > LEDGER_PAGE_SIZE && (
        <div className="pager">
          <button
            type="button"
            disabled={current === 0}
            onClick={() => {
              setPage(current - 1);
            }}
            data-testid="ledger-newer"
          >
            {t('common.newer')}
          </button>
          <span data-testid="ledger-page" data-value={current + 1}>
            {t('common.pageOf', { page: current + 1, pages })}
          </span>
          <button
            type="button"
            disabled={current >= pages - 1}
            onClick={() => {
              setPage(current + 1);
            }}
            data-testid="ledger-older"
          >
            {t('common.older')}
          </button>
        </div>
      )}
    </div>
  );
}

function PurchasesTab(props: { memberId: number }) {
  const { t } = useTranslation();
  const [range, setRange, today] = useRange();
  const problem = rangeProblem(range);
  const history = useFetch<Purchases>(
    problem === undefined ? withQuery(`/api/members/${props.memberId}/sales`, range) : null,
  );
  const sales = history.data?.sales ?? [];
  return (
    <div>
      <DateRangePicker
        value={range}
        today={today}
        problem={problem}
        testid="purchases-range"
        onChange={setRange}
      />
      <LoadState
        isLoading={history.isLoading}
        problem={history.problem}
        hasData={history.data !== undefined}
        testid="purchases"
      />
      <div className="table-wrap">
        <table data-testid="purchases-table">
          <thead>
            <tr>
              <th scope="col">{t('purchases.soldAt')}</th>
              <th scope="col">{t('purchases.showroom')}</th>
              <th scope="col">{t('purchases.bill')}</th>
              <th scope="col">{t('purchases.lines')}</th>
              <th scope="col" className="num">
                {t('purchases.amount')}
              </th>
              <th scope="col" className="num">
                {t('purchases.points')}
              </th>
              <th scope="col" className="num">
                {t('purchases.returned')}
              </th>
            </tr>
          </thead>
          <tbody>
            {sales.map((s) => (
              <tr key={s.saleId} data-testid={`purchase-row-${s.saleId}`}>
                <td className="nowrap">
                  <When at={s.soldAt} />
                </td>
                <td>{s.showroomCode}</td>
                <td className="mono">{s.billNumber}</td>
                <td>{s.lines.map((l) => `${l.categoryCode} ×${l.quantity}`).join(', ')}</td>
                <Num value={s.amountPaise} kind="paise" testid="purchase-amount" />
                <Num value={s.points} kind="points" testid="purchase-points" />
                <Num value={s.returnedAmountPaise} kind="paise" testid="purchase-returned" />
              </tr>
            ))}
            {history.data && sales.length === 0 && (
              <EmptyRow columns={7} testid="purchases-empty">
                {t('purchases.empty')}
              </EmptyRow>
            )}
          </tbody>
        </table>
      </div>
    </div>
  );
}
