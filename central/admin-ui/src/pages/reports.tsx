import { Navigate, useParams, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import {
  REPORT_PATHS,
  type LiabilityReport,
  type MembersReport,
  type PatternsReport,
  type SalesReport,
  type SalesReportRow,
  type SmsReport,
} from '../../../../shared/protocol/reports.ts';
import { rangeProblem } from '../dates.ts';
import { calendarDateIn, formatBucket, formatIsoDate } from '../format.ts';
import { useFetch } from '../hooks.ts';
import { PageHead } from '../layout.tsx';
import { LoadState, Num, When } from '../parts/cells.tsx';
import { SeriesChart, ShareChart } from '../parts/charts.tsx';
import { DateRangePicker } from '../parts/date-range.tsx';
import { ShowroomPicker } from '../parts/showroom-picker.tsx';
import { csvUrl, withQuery } from '../query.ts';
import {
  apiParams,
  csvParams,
  filtersOf,
  searchOf,
  type Granularity,
  type ReportDef,
  type ReportFilters,
} from '../report-query.ts';

/** One of a report's choices: a labelled select of [value, label] options. */
function FilterSelect(props: {
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
  testid: string;
  onChange: (value: string) => void;
}) {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      <select
        value={props.value}
        onChange={(e) => {
          props.onChange(e.target.value);
        }}
        data-testid={props.testid}
      >
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The five reports, in the order the menu lists them. */
export const REPORTS: readonly ReportDef[] = [
  {
    id: 'sales',
    path: REPORT_PATHS.sales,
    defaultPreset: 'last7',
    granularity: 'day',
    dimensions: ['time', 'showroom', 'category'],
    defaultDimension: 'time',
  },
  {
    id: 'liability',
    path: REPORT_PATHS.liability,
    defaultPreset: 'thisYear',
    granularity: 'month',
  },
  {
    id: 'members',
    path: REPORT_PATHS.members,
    defaultPreset: 'thisYear',
    granularity: 'month',
    dimensions: ['time', 'showroom'],
    defaultDimension: 'showroom',
  },
  {
    id: 'patterns',
    path: REPORT_PATHS.patterns,
    defaultPreset: 'last90',
    sections: ['category-mix', 'visit-frequency', 'rfm', 'showrooms-per-member', 'churn-risk'],
  },
  { id: 'sms', path: REPORT_PATHS.sms, defaultPreset: 'last7' },
];

/** A period's label: the day, the week from its first day, or the month. */
export function periodLabel(period: string | null, granularity: Granularity | undefined): string {
  if (period === null) return '';
  if (granularity === 'month') return formatBucket(period.slice(0, 7));
  if (granularity === 'week') return `wk ${formatIsoDate(period)}`;
  return formatIsoDate(period);
}

/** `/reports/:reportId`: the report the address names (a fresh page for each report). */
export function ReportRoute() {
  const { reportId } = useParams();
  const report = REPORTS.find((r) => r.id === reportId);
  if (!report) return <Navigate to="/" replace />;
  return <ReportPage key={report.id} report={report} />;
}

/** One report: its filters (kept in the address), a chart, a table with totals, a CSV link. */
export function ReportPage(props: { report: ReportDef }) {
  const { t } = useTranslation();
  const { report } = props;
  const [params, setParams] = useSearchParams();
  const today = calendarDateIn(new Date());
  const filters = filtersOf(report, params, today);
  const problem = rangeProblem(filters);
  const query = apiParams(filters);
  const answer = useFetch<unknown>(problem === undefined ? withQuery(report.path, query) : null);

  function change(next: Partial<ReportFilters>) {
    setParams(searchOf({ ...filters, ...next }), { replace: true });
  }

  const data = answer.data as
    { notes?: string[]; generatedAt?: string; timeZone?: string } | undefined;
  return (
    <section data-testid={`report-${report.id}`}>
      <PageHead title={t(`reports.titles.${report.id}`)} testid="report-title">
        <a
          className="button"
          href={problem === undefined ? csvUrl(report.path, csvParams(filters)) : undefined}
          aria-disabled={problem !== undefined}
          download
          data-testid="report-csv"
        >
          {t('reports.csv')}
        </a>
      </PageHead>
      <div className="card filters" data-testid="report-filters">
        <DateRangePicker
          value={{ from: filters.from, to: filters.to }}
          today={today}
          problem={problem}
          testid="report-range"
          onChange={(range) => {
            change(range);
          }}
        />
        <div className="filter-row">
          <ShowroomPicker
            value={filters.showrooms}
            testid="report-showrooms"
            onChange={(showrooms) => {
              change({ showrooms });
            }}
          />
          {filters.granularity !== undefined && (
            <FilterSelect
              label={t('reports.granularity')}
              value={filters.granularity}
              options={(['day', 'week', 'month'] as const).map((g) => [g, t(`reports.by.${g}`)])}
              testid="report-granularity"
              onChange={(value) => {
                change({ granularity: value as Granularity });
              }}
            />
          )}
          {report.dimensions !== undefined && filters.dimension !== undefined && (
            <FilterSelect
              label={t('reports.dimension')}
              value={filters.dimension}
              options={report.dimensions.map((d) => [
                d,
                t(`reports.dimensions.${d}` as 'reports.dimensions.time'),
              ])}
              testid="report-dimension"
              onChange={(dimension) => {
                change({ dimension });
              }}
            />
          )}
          {report.sections !== undefined && filters.section !== undefined && (
            <FilterSelect
              label={t('reports.csvSection')}
              value={filters.section}
              options={report.sections.map((x) => [
                x,
                t(`reports.sections.${x}` as 'reports.sections.rfm'),
              ])}
              testid="report-section"
              onChange={(section) => {
                change({ section });
              }}
            />
          )}
        </div>
      </div>
      <LoadState
        isLoading={answer.isLoading}
        problem={answer.problem}
        hasData={answer.data !== undefined}
        testid="report"
      />
      {data && (
        <div aria-busy={answer.isLoading} data-testid="report-body">
          <p className="muted small" data-testid="report-generated">
            {t('reports.generated')} <When at={data.generatedAt} /> ({data.timeZone})
          </p>
          {report.id === 'sales' && <SalesBody report={answer.data as SalesReport} />}
          {report.id === 'liability' && <LiabilityBody report={answer.data as LiabilityReport} />}
          {report.id === 'members' && <MembersBody report={answer.data as MembersReport} />}
          {report.id === 'patterns' && <PatternsBody report={answer.data as PatternsReport} />}
          {report.id === 'sms' && <SmsBody report={answer.data as SmsReport} />}
          {(data.notes ?? []).length > 0 && (
            <ul className="notes" data-testid="report-notes">
              {(data.notes ?? []).map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}

function salesKey(row: SalesReportRow, report: SalesReport, redemptions: string): string {
  if (report.dimension === 'time') return periodLabel(row.period, report.granularity);
  if (report.dimension === 'showroom') return row.showroomCode ?? '—';
  return row.categoryCode ?? redemptions;
}

function SalesBody(props: { report: SalesReport }) {
  const { t } = useTranslation();
  const { report } = props;
  const labels = report.rows.map((r) => salesKey(r, report, t('reports.sales.noCategory')));
  const keyTitle = t(`reports.dimensions.${report.dimension}`);
  return (
    <>
      <SeriesChart
        testid="report-chart"
        title={t('reports.sales.chart')}
        labels={labels}
        series={[
          {
            label: t('reports.sales.netSales'),
            unit: 'paise',
            values: report.rows.map((r) => r.netSalesPaise),
          },
          {
            label: t('reports.sales.pointsEarned'),
            unit: 'points',
            kind: 'line',
            isRight: true,
            values: report.rows.map((r) => r.pointsEarned),
          },
          {
            label: t('reports.sales.pointsRedeemed'),
            unit: 'points',
            kind: 'line',
            isRight: true,
            values: report.rows.map((r) => r.pointsRedeemed ?? 0),
          },
        ]}
      />
      <div className="table-wrap">
        <table data-testid="report-table">
          <thead>
            <tr>
              <th scope="col">{keyTitle}</th>
              <th scope="col" className="num">
                {t('reports.sales.bills')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.lines')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.sales')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.returned')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.netSales')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.pointsEarned')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.pointsReversed')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.pointsRedeemed')}
              </th>
              <th scope="col" className="num">
                {t('reports.sales.redeemedValue')}
              </th>
            </tr>
          </thead>
          <tbody>
            {report.rows.map((r, i) => (
              <tr
                key={`${r.period ?? ''}|${r.showroomCode ?? ''}|${r.categoryCode ?? ''}`}
                data-testid={`report-row-${i}`}
              >
                <th
                  scope="row"
                  data-testid="row-key"
                  data-value={r.period ?? r.showroomCode ?? r.categoryCode ?? ''}
                >
                  {labels[i]}
                  {report.dimension === 'showroom' && r.showroomName !== null && (
                    <span className="muted"> {r.showroomName}</span>
                  )}
                  {report.dimension === 'category' && r.categoryName !== null && (
                    <span className="muted"> {r.categoryName}</span>
                  )}
                </th>
                <OptionalNum value={r.bills} kind="count" testid="bills" />
                <Num value={r.lines} kind="count" testid="lines" />
                <Num value={r.salesPaise} kind="paise" testid="salesPaise" />
                <Num value={r.returnedPaise} kind="paise" testid="returnedPaise" />
                <Num value={r.netSalesPaise} kind="paise" testid="netSalesPaise" />
                <Num value={r.pointsEarned} kind="points" testid="pointsEarned" />
                <Num value={r.pointsReversed} kind="points" testid="pointsReversed" />
                <OptionalNum value={r.pointsRedeemed} kind="points" testid="pointsRedeemed" />
                <OptionalNum
                  value={r.redeemedValuePaise}
                  kind="paise"
                  testid="redeemedValuePaise"
                />
              </tr>
            ))}
            {report.rows.length === 0 && <NoRows columns={10} />}
          </tbody>
          <tfoot>
            <tr data-testid="report-totals">
              <th scope="row">{t('common.total')}</th>
              <Num value={report.totals.bills} kind="count" testid="bills" />
              <Num value={report.totals.lines} kind="count" testid="lines" />
              <Num value={report.totals.salesPaise} kind="paise" testid="salesPaise" />
              <Num value={report.totals.returnedPaise} kind="paise" testid="returnedPaise" />
              <Num value={report.totals.netSalesPaise} kind="paise" testid="netSalesPaise" />
              <Num value={report.totals.pointsEarned} kind="points" testid="pointsEarned" />
              <Num value={report.totals.pointsReversed} kind="points" testid="pointsReversed" />
              <Num value={report.totals.pointsRedeemed} kind="points" testid="pointsRedeemed" />
              <Num
                value={report.totals.redeemedValuePaise}
                kind="paise"
                testid="redeemedValuePaise"
              />
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}

/** A figure that does not apply to the row (a bill count on a category row): a dash. */
function OptionalNum(props: {
  value: number | null;
  kind: 'count' | 'points' | 'paise';
  testid: string;
}) {
  if (props.value === null) {
    return (
      <td className="num muted" data-value="" data-testid={props.testid}>
        —
      </td>
    );
  }
  return <Num value={props.value} kind={props.kind} testid={props.testid} />;
}

function NoRows(props: { columns: number }) {
  const { t } = useTranslation();
  return (
    <tr>
      <td colSpan={props.columns} className="empty" data-testid="report-empty">
        {t('reports.empty')}
      </td>
    </tr>
  );
}

const LIABILITY_COLUMNS = [
  ['openingPoints', 'points'],
  ['earnPoints', 'signed-points'],
  ['redeemPoints', 'signed-points'],
  ['reversePoints', 'signed-points'],
  ['adjustPoints', 'signed-points'],
  ['expirePoints', 'signed-points'],
  ['bonusPoints', 'signed-points'],
  ['netPoints', 'signed-points'],
  ['closingPoints', 'points'],
  ['closingValuePaise', 'paise'],
  ['entries', 'count'],
] as const;

function LiabilityBody(props: { report: LiabilityReport }) {
  const { t } = useTranslation();
  const { report } = props;
  const labels = report.rows.map((r) => periodLabel(r.period, report.granularity));
  return (
    <>
      <div className="figures-row">
        <Figure
          label={t('reports.liability.outstanding')}
          value={report.totals.closingPoints}
          kind="points"
          testid="liability-closing"
        />
        <Figure
          label={t('reports.liability.value')}
          value={report.totals.closingValuePaise}
          kind="paise"
          testid="liability-value"
        />
        <Figure
          label={t('reports.liability.moved')}
          value={report.totals.netPoints}
          kind="signed-points"
          testid="liability-net"
        />
        <Figure
          label={t('reports.liability.pointValue')}
          value={report.pointValuePaise}
          kind="paise"
          testid="liability-point-value"
        />
      </div>
      <SeriesChart
        testid="report-chart"
        title={t('reports.liability.chart')}
        labels={labels}
        series={[
          {
            label: t('reports.liability.earnPoints'),
            unit: 'points',
            values: report.rows.map((r) => r.earnPoints + r.bonusPoints),
          },
          {
            label: t('reports.liability.redeemPoints'),
            unit: 'points',
            values: report.rows.map((r) => -r.redeemPoints),
          },
          {
            label: t('reports.liability.closingPoints'),
            unit: 'points',
            kind: 'line',
            isRight: true,
            values: report.rows.map((r) => r.closingPoints),
          },
        ]}
      />
      <div className="table-wrap">
        <table data-testid="report-table">
          <thead>
            <tr>
              <th scope="col">{t('reports.dimensions.time')}</th>
              {LIABILITY_COLUMNS.map(([key]) => (
                <th key={key} scope="col" className="num">
                  {t(`reports.liability.${key}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.rows.map((r, i) => (
              <tr key={r.period} data-testid={`report-row-${i}`}>
                <th scope="row" data-testid="row-key" data-value={r.period}>
                  {labels[i]}
                </th>
                {LIABILITY_COLUMNS.map(([key, kind]) => (
                  <Num key={key} value={r[key]} kind={kind} testid={key} />
                ))}
              </tr>
            ))}
            {report.rows.length === 0 && <NoRows columns={LIABILITY_COLUMNS.length + 1} />}
          </tbody>
          <tfoot>
            <tr data-testid="report-totals">
              <th scope="row">{t('common.total')}</th>
              {LIABILITY_COLUMNS.map(([key, kind]) => (
                <Num key={key} value={report.totals[key]} kind={kind} testid={key} />
              ))}
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}

function Figure(props: {
  label: string;
  value: number;
  kind: 'points' | 'paise' | 'count' | 'signed-points';
  testid: string;
}) {
  return (
    <div className="figure">
      <span className="figure-label">{props.label}</span>
      <Num value={props.value} kind={props.kind} as="strong" testid={props.testid} />
    </div>
  );
}

function MembersBody(props: { report: MembersReport }) {
  const { t } = useTranslation();
  const { report } = props;
  const labels = report.rows.map((r) =>
    report.dimension === 'time'
      ? periodLabel(r.period, report.granularity)
      : (r.showroomCode ?? '—'),
  );
  return (
    <>
      <div className="figures-row">
        <Figure
          label={t('reports.members.enrolments')}
          value={report.totals.enrolments}
          kind="count"
          testid="members-enrolments"
        />
        <Figure
          label={t('reports.members.activeMembers')}
          value={report.totals.activeMembers}
          kind="count"
          testid="members-active"
        />
        <Figure
          label={t('reports.members.bills')}
          value={report.totals.bills}
          kind="count"
          testid="members-bills"
        />
        <Figure
          label={t('reports.members.membersAtEnd')}
          value={report.totals.membersAtEnd}
          kind="count"
          testid="members-at-end"
        />
      </div>
      <SeriesChart
        testid="report-chart"
        title={t('reports.members.chart')}
        labels={labels}
        series={[
          {
            label: t('reports.members.enrolments'),
            unit: 'count',
            values: report.rows.map((r) => r.enrolments),
          },
          {
            label: t('reports.members.activeMembers'),
            unit: 'count',
            values: report.rows.map((r) => r.activeMembers),
          },
        ]}
      />
      <div className="table-wrap">
        <table data-testid="report-table">
          <thead>
            <tr>
              <th scope="col">{t(`reports.dimensions.${report.dimension}`)}</th>
              <th scope="col" className="num">
                {t('reports.members.enrolments')}
              </th>
              <th scope="col" className="num">
                {t('reports.members.activeMembers')}
              </th>
              <th scope="col" className="num">
                {t('reports.members.bills')}
              </th>
            </tr>
          </thead>
          <tbody>
            {report.rows.map((r, i) => (
              <tr key={`${r.period ?? ''}|${r.showroomCode ?? ''}`} data-testid={`report-row-${i}`}>
                <th scope="row" data-testid="row-key" data-value={r.period ?? r.showroomCode ?? ''}>
                  {labels[i]}
                  {report.dimension === 'showroom' && r.showroomName !== null && (
                    <span className="muted"> {r.showroomName}</span>
                  )}
                </th>
                <Num value={r.enrolments} kind="count" testid="enrolments" />
                <Num value={r.activeMembers} kind="count" testid="activeMembers" />
                <Num value={r.bills} kind="count" testid="bills" />
              </tr>
            ))}
            {report.rows.length === 0 && <NoRows columns={4} />}
          </tbody>
          <tfoot>
            <tr data-testid="report-totals">
              <th scope="row">{t('common.total')}</th>
              <Num value={report.totals.enrolments} kind="count" testid="enrolments" />
              <Num value={report.totals.activeMembers} kind="count" testid="activeMembers" />
              <Num value={report.totals.bills} kind="count" testid="bills" />
            </tr>
          </tfoot>
        </table>
      </div>
      <p className="muted small">{t('reports.members.activeNote')}</p>
    </>
  );
}

/** A patterns section of members by bucket (visits, showrooms): a chart and its table. */
function BucketSection(props: {
  section: 'visit-frequency' | 'showrooms-per-member';
  chartTitle: string;
  bucketTitle: string;
  rows: { bucket: string; members: number; salesPaise: number }[];
}) {
  const { t } = useTranslation();
  const { section, rows } = props;
  return (
    <div className="card" data-testid={`patterns-${section}`}>
      <h2>{t(`reports.sections.${section}`)}</h2>
      <SeriesChart
        testid={`chart-${section}`}
        title={props.chartTitle}
        labels={rows.map((r) => r.bucket)}
        series={[
          {
            label: t('reports.patterns.members'),
            unit: 'count',
            values: rows.map((r) => r.members),
          },
        ]}
      />
      <table data-testid={`table-${section}`}>
        <thead>
          <tr>
            <th scope="col">{props.bucketTitle}</th>
            <th scope="col" className="num">
              {t('reports.patterns.members')}
            </th>
            <th scope="col" className="num">
              {t('reports.sales.sales')}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={r.bucket} data-testid={`report-row-${i}`}>
              <th scope="row" data-testid="row-key" data-value={r.bucket}>
                {r.bucket}
              </th>
              <Num value={r.members} kind="count" testid="members" />
              <Num value={r.salesPaise} kind="paise" testid="salesPaise" />
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PatternsBody(props: { report: PatternsReport }) {
  const { t } = useTranslation();
  const { report } = props;
  const { churnRisk } = report;
  return (
    <>
      <div className="figures-row">
        <Figure
          label={t('reports.patterns.activeMembers')}
          value={report.totals.activeMembers}
          kind="count"
          testid="patterns-active"
        />
        <Figure
          label={t('reports.patterns.visits')}
          value={report.totals.visits}
          kind="count"
          testid="patterns-visits"
        />
        <Figure
          label={t('reports.patterns.bills')}
          value={report.totals.bills}
          kind="count"
          testid="patterns-bills"
        />
        <Figure
          label={t('reports.patterns.sales')}
          value={report.totals.salesPaise}
          kind="paise"
          testid="patterns-sales"
        />
        <Figure
          label={t('reports.patterns.multiShowroom')}
          value={report.totals.multiShowroomMembers}
          kind="count"
          testid="patterns-multi"
        />
      </div>
      <div className="report-grid">
        <div className="card" data-testid="patterns-category-mix">
          <h2>{t('reports.sections.category-mix')}</h2>
          <ShareChart
            testid="chart-category-mix"
            title={t('reports.patterns.mixChart')}
            labels={report.categoryMix.map((r) => r.categoryCode)}
            values={report.categoryMix.map((r) => r.salesPaise)}
            unit="paise"
          />
          <table data-testid="table-category-mix">
            <thead>
              <tr>
                <th scope="col">{t('reports.dimensions.category')}</th>
                <th scope="col" className="num">
                  {t('reports.sales.lines')}
                </th>
                <th scope="col" className="num">
                  {t('reports.sales.sales')}
                </th>
                <th scope="col" className="num">
                  {t('reports.patterns.share')}
                </th>
              </tr>
            </thead>
            <tbody>
              {report.categoryMix.map((r, i) => (
                <tr key={r.categoryCode} data-testid={`report-row-${i}`}>
                  <th scope="row" data-testid="row-key" data-value={r.categoryCode}>
                    {r.categoryCode} <span className="muted">{r.categoryName}</span>
                  </th>
                  <Num value={r.lines} kind="count" testid="lines" />
                  <Num value={r.salesPaise} kind="paise" testid="salesPaise" />
                  <td
                    className="num"
                    data-value={r.shareBasisPoints}
                    data-testid="shareBasisPoints"
                  >
                    {(r.shareBasisPoints / 100).toFixed(2)}%
                  </td>
                </tr>
              ))}
              {report.categoryMix.length === 0 && <NoRows columns={4} />}
            </tbody>
          </table>
        </div>
        <BucketSection
          section="visit-frequency"
          chartTitle={t('reports.patterns.frequencyChart')}
          bucketTitle={t('reports.patterns.visitsBucket')}
          rows={report.visitFrequency.map((r) => ({
            bucket: r.visits,
            members: r.members,
            salesPaise: r.salesPaise,
          }))}
        />
        <div className="card" data-testid="patterns-rfm">
          <h2>{t('reports.sections.rfm')}</h2>
          <SeriesChart
            testid="chart-rfm"
            title={t('reports.patterns.rfmChart')}
            labels={report.rfm.map((r) => t(`reports.rfm.${r.segment}`))}
            series={[
              {
                label: t('reports.patterns.members'),
                unit: 'count',
                values: report.rfm.map((r) => r.members),
              },
            ]}
          />
          <table data-testid="table-rfm">
            <thead>
              <tr>
                <th scope="col">{t('reports.patterns.segment')}</th>
                <th scope="col" className="num">
                  {t('reports.patterns.members')}
                </th>
                <th scope="col" className="num">
                  {t('reports.patterns.visits')}
                </th>
                <th scope="col" className="num">
                  {t('reports.sales.sales')}
                </th>
              </tr>
            </thead>
            <tbody>
              {report.rfm.map((r, i) => (
                <tr key={r.segment} data-testid={`report-row-${i}`}>
                  <th scope="row" data-testid="row-key" data-value={r.segment} title={r.definition}>
                    {t(`reports.rfm.${r.segment}`)}
                    <div className="muted small">{r.definition}</div>
                  </th>
                  <Num value={r.members} kind="count" testid="members" />
                  <Num value={r.visits} kind="count" testid="visits" />
                  <Num value={r.salesPaise} kind="paise" testid="salesPaise" />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <BucketSection
          section="showrooms-per-member"
          chartTitle={t('reports.patterns.showroomsChart')}
          bucketTitle={t('reports.patterns.showroomsBucket')}
          rows={report.showroomsPerMember.map((r) => ({
            bucket: r.showrooms,
            members: r.members,
            salesPaise: r.salesPaise,
          }))}
        />
      </div>
      <div className="card" data-testid="patterns-churn-risk">
        <h2>{t('reports.sections.churn-risk')}</h2>
        <p className="muted">
          {t('reports.patterns.churnLead', {
            k: churnRisk.k,
            minVisits: churnRisk.minVisits,
            asOf: formatIsoDate(churnRisk.asOf),
          })}
        </p>
        <table data-testid="table-churn-risk">
          <thead>
            <tr>
              <th scope="col">{t('reports.patterns.lastShowroom')}</th>
              <th scope="col" className="num">
                {t('reports.patterns.withHistory')}
              </th>
              <th scope="col" className="num">
                {t('reports.patterns.atRisk')}
              </th>
              <th scope="col" className="num">
                {t('reports.patterns.atRiskSpend')}
              </th>
            </tr>
          </thead>
          <tbody>
            {churnRisk.rows.map((r, i) => (
              <tr key={r.showroomCode ?? '-'} data-testid={`report-row-${i}`}>
                <th scope="row" data-testid="row-key" data-value={r.showroomCode ?? ''}>
                  {r.showroomCode ?? '—'} <span className="muted">{r.showroomName ?? ''}</span>
                </th>
                <Num value={r.membersWithHistory} kind="count" testid="membersWithHistory" />
                <Num value={r.membersAtRisk} kind="count" testid="membersAtRisk" />
                <Num value={r.atRiskSpendPaise} kind="paise" testid="atRiskSpendPaise" />
              </tr>
            ))}
            {churnRisk.rows.length === 0 && <NoRows columns={4} />}
          </tbody>
          <tfoot>
            <tr data-testid="report-totals">
              <th scope="row">{t('common.total')}</th>
              <Num
                value={churnRisk.totals.membersWithHistory}
                kind="count"
                testid="membersWithHistory"
              />
              <Num value={churnRisk.totals.membersAtRisk} kind="count" testid="membersAtRisk" />
              <Num
                value={churnRisk.totals.atRiskSpendPaise}
                kind="paise"
                testid="atRiskSpendPaise"
              />
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}

const SMS_COLUMNS = [
  'total',
  'sent',
  'failed',
  'refused',
  'pending',
  'unknown',
  'expired',
  'sentSegments',
] as const;

function SmsBody(props: { report: SmsReport }) {
  const { t } = useTranslation();
  const { report } = props;
  const labels = report.rows.map((r) => r.kind);
  return (
    <>
      <SeriesChart
        testid="report-chart"
        title={t('reports.sms.chart')}
        labels={labels}
        isStacked
        series={(['sent', 'failed', 'refused', 'pending', 'unknown', 'expired'] as const).map(
          (key) => ({
            label: t(`reports.sms.${key}`),
            unit: 'count' as const,
            stack: 'status',
            values: report.rows.map((r) => r[key]),
          }),
        )}
      />
      <div className="table-wrap">
        <table data-testid="report-table">
          <thead>
            <tr>
              <th scope="col">{t('reports.sms.kind')}</th>
              {SMS_COLUMNS.map((key) => (
                <th key={key} scope="col" className="num">
                  {t(`reports.sms.${key}`)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {report.rows.map((r, i) => (
              <tr key={r.kind} data-testid={`report-row-${i}`}>
                <th scope="row" data-testid="row-key" data-value={r.kind}>
                  {r.kind}
                </th>
                {SMS_COLUMNS.map((key) => (
                  <Num key={key} value={r[key]} kind="count" testid={key} />
                ))}
              </tr>
            ))}
            {report.rows.length === 0 && <NoRows columns={SMS_COLUMNS.length + 1} />}
          </tbody>
          <tfoot>
            <tr data-testid="report-totals">
              <th scope="row">{t('common.total')}</th>
              {SMS_COLUMNS.map((key) => (
                <Num key={key} value={report.totals[key]} kind="count" testid={key} />
              ))}
            </tr>
          </tfoot>
        </table>
      </div>
    </>
  );
}
