import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import {
  LIVE_TODAY_EVENT,
  REPORT_PATHS,
  type LiabilityReport,
  type SalesReport,
  type TodaySummary,
} from '../../../../shared/protocol/reports.ts';
import { addDays } from '../dates.ts';
import { calendarDateIn } from '../format.ts';
import { useFetch } from '../hooks.ts';
import { PageHead } from '../layout.tsx';
import { LoadState, Num, When } from '../parts/cells.tsx';
import { SeriesChart } from '../parts/charts.tsx';
import { withQuery } from '../query.ts';
import { periodLabel } from './reports.tsx';

type Live = 'connecting' | 'live' | 'lost';

/** Fewest milliseconds between two re-reads of the dashboard's charts. */
const CHART_REFRESH_MS = 5_000;

/** Today's figures as they stand, pushed by central after every sale (server-sent events). */
function useTodayLive(): {
  today: TodaySummary | undefined;
  live: Live;
  problem: string | undefined;
} {
  const first = useFetch<TodaySummary>(REPORT_PATHS.today);
  const [pushed, setPushed] = useState<TodaySummary | undefined>(undefined);
  const [live, setLive] = useState<Live>('connecting');
  useEffect(() => {
    const source = new EventSource(REPORT_PATHS.live, { withCredentials: true });
    source.addEventListener('open', () => {
      setLive('live');
    });
    source.addEventListener(LIVE_TODAY_EVENT, (event) => {
      try {
        setPushed(JSON.parse((event as MessageEvent<string>).data) as TodaySummary);
        setLive('live');
      } catch {
        // A malformed event is skipped; the next one carries the whole summary again.
      }
    });
    source.addEventListener('error', () => {
      // The browser retries by itself while the stream is CONNECTING; CLOSED means it gave up.
      setLive(source.readyState === EventSource.CLOSED ? 'lost' : 'connecting');
    });
    return () => {
      source.close();
    };
  }, []);
  // The newer of the first answer and the last push.
  const today =
    pushed && (!first.data || pushed.generatedAt >= first.data.generatedAt) ? pushed : first.data;
  return { today, live, problem: first.problem?.detail };
}

/** Today at a glance, live; the last two weeks' sales and points; the liability this year. */
export function Dashboard() {
  const { t } = useTranslation();
  const { today, live, problem } = useTodayLive();
  const day = calendarDateIn(new Date());
  const sales = useFetch<SalesReport>(
    withQuery(REPORT_PATHS.sales, {
      from: addDays(day, -13),
      to: day,
      granularity: 'day',
      dimension: 'time',
    }),
  );
  const liability = useFetch<LiabilityReport>(
    withQuery(REPORT_PATHS.liability, {
      from: `${day.slice(0, 4)}-01-01`,
      to: day,
      granularity: 'month',
    }),
  );
  // The charts follow the pushed figures, read again at most every few seconds while sales flow.
  const reloadSales = sales.reload;
  const reloadLiability = liability.reload;
  // Null until the first figures arrive, which the charts' own first reading already matches.
  const chartsReadAtMs = useRef<number | null>(null);
  const pushedAt = today?.generatedAt;
  useEffect(() => {
    if (pushedAt === undefined) return;
    if (chartsReadAtMs.current === null) {
      chartsReadAtMs.current = Date.now();
      return;
    }
    const waitMs = Math.max(0, chartsReadAtMs.current + CHART_REFRESH_MS - Date.now());
    const timer = setTimeout(() => {
      chartsReadAtMs.current = Date.now();
      reloadSales();
      reloadLiability();
    }, waitMs);
    return () => {
      clearTimeout(timer);
    };
  }, [pushedAt, reloadSales, reloadLiability]);
  return (
    <section>
      <PageHead title={t('dashboard.title')} testid="dashboard-title">
        <span className={`live live-${live}`} data-testid="dashboard-live" data-state={live}>
          {t(`dashboard.live.${live}`)}
        </span>
      </PageHead>
      {problem !== undefined && (
        <p className="load-problem" role="alert" data-testid="dashboard-load-error">
          {problem}
        </p>
      )}
      {today && (
        <>
          <p className="muted small" data-testid="dashboard-updated">
            {t('dashboard.asOf')} <When at={today.generatedAt} />
          </p>
          <div className="figures-row" data-testid="today">
            <Tile
              label={t('dashboard.sales')}
              value={today.salesPaise}
              kind="paise"
              testid="today-sales"
            />
            <Tile
              label={t('dashboard.bills')}
              value={today.bills}
              kind="count"
              testid="today-bills"
            />
            <Tile
              label={t('dashboard.members')}
              value={today.members}
              kind="count"
              testid="today-members"
            />
            <Tile
              label={t('dashboard.pointsEarned')}
              value={today.pointsEarned}
              kind="points"
              testid="today-points-earned"
            />
            <Tile
              label={t('dashboard.pointsRedeemed')}
              value={today.pointsRedeemed}
              kind="points"
              testid="today-points-redeemed"
            />
            <Tile
              label={t('dashboard.redeemedValue')}
              value={today.redeemedValuePaise}
              kind="paise"
              testid="today-redeemed-value"
            />
            <Tile
              label={t('dashboard.returned')}
              value={today.returnedPaise}
              kind="paise"
              testid="today-returned"
            />
            <Tile
              label={t('dashboard.enrolments')}
              value={today.enrolments}
              kind="count"
              testid="today-enrolments"
            />
            <Tile
              label={t('dashboard.smsSent')}
              value={today.smsSent}
              kind="count"
              testid="today-sms-sent"
            />
            <Tile
              label={t('dashboard.smsFailed')}
              value={today.smsFailed}
              kind="count"
              testid="today-sms-failed"
            />
          </div>
        </>
      )}
      <div className="report-grid">
        <div className="card">
          <LoadState
            isLoading={sales.isLoading}
            problem={sales.problem}
            hasData={sales.data !== undefined}
            testid="dashboard-sales"
          />
          {sales.data && (
            <SeriesChart
              testid="dashboard-sales-chart"
              title={t('dashboard.salesChart')}
              labels={sales.data.rows.map((r) => periodLabel(r.period, 'day').slice(0, 5))}
              series={[
                {
                  label: t('reports.sales.netSales'),
                  unit: 'paise',
                  values: sales.data.rows.map((r) => r.netSalesPaise),
                },
                {
                  label: t('reports.sales.pointsEarned'),
                  unit: 'points',
                  kind: 'line',
                  isRight: true,
                  values: sales.data.rows.map((r) => r.pointsEarned),
                },
                {
                  label: t('reports.sales.pointsRedeemed'),
                  unit: 'points',
                  kind: 'line',
                  isRight: true,
                  values: sales.data.rows.map((r) => r.pointsRedeemed ?? 0),
                },
              ]}
            />
          )}
          <Link to="/reports/sales">{t('dashboard.openReport')}</Link>
        </div>
        <div className="card">
          <LoadState
            isLoading={liability.isLoading}
            problem={liability.problem}
            hasData={liability.data !== undefined}
            testid="dashboard-liability"
          />
          {liability.data && (
            <SeriesChart
              testid="dashboard-liability-chart"
              title={t('dashboard.liabilityChart')}
              labels={liability.data.rows.map((r) => periodLabel(r.period, 'month'))}
              series={[
                {
                  label: t('reports.liability.closingPoints'),
                  unit: 'points',
                  kind: 'line',
                  values: liability.data.rows.map((r) => r.closingPoints),
                },
              ]}
            />
          )}
          <Link to="/reports/liability">{t('dashboard.openReport')}</Link>
        </div>
      </div>
    </section>
  );
}

function Tile(props: {
  label: string;
  value: number;
  kind: 'paise' | 'count' | 'points';
  testid: string;
}) {
  return (
    <div className="figure">
      <span className="figure-label">{props.label}</span>
      <Num value={props.value} kind={props.kind} as="strong" testid={props.testid} />
    </div>
  );
}
