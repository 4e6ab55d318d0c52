import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  type ChartData,
  type ChartOptions,
  type TooltipItem,
} from 'chart.js';
import { Chart, Doughnut } from 'react-chartjs-2';
import { formatCount, formatRupees } from '../format.ts';

// Only what these charts draw: chart.js leaves the rest out of the bundle.
ChartJS.register(
  BarController,
  LineController,
  DoughnutController,
  CategoryScale,
  LinearScale,
  BarElement,
  LineElement,
  PointElement,
  ArcElement,
  Tooltip,
  Legend,
);

/** The chart colours, in order; readable on white and told apart by most colour-blind eyes. */
export const PALETTE = [
  '#0b3d91',
  '#e69f00',
  '#009e73',
  '#cc3311',
  '#56b4e9',
  '#6a3d9a',
  '#999933',
  '#882255',
];

/** What a series counts: paise are drawn as rupees, and every tooltip shows Indian grouping. */
export type SeriesUnit = 'paise' | 'points' | 'count';

export type Series = {
  label: string;
  /** Integers as central sent them (paise, points, counts). */
  values: readonly number[];
  unit: SeriesUnit;
  kind?: 'bar' | 'line';
  /** The right-hand axis, for a second unit on one chart. */
  isRight?: boolean;
  stack?: string;
};

function plotted(value: number, unit: SeriesUnit): number {
  // Display only: the table beside the chart shows the exact paise.
  return unit === 'paise' ? value / 100 : value;
}

function tooltipText(value: number, unit: SeriesUnit): string {
  return unit === 'paise' ? formatRupees(Math.round(value * 100)) : formatCount(value);
}

function axisTick(unit: SeriesUnit) {
  return (value: string | number) => {
    const n = Number(value);
    return unit === 'paise' ? `₹${formatCount(n)}` : formatCount(n);
  };
}

/** Bars and lines over shared labels (periods, showrooms, categories…). */
export function SeriesChart(props: {
  labels: readonly string[];
  series: readonly Series[];
  title: string;
  testid: string;
  isStacked?: boolean;
}) {
  const leftUnit = props.series.find((s) => s.isRight !== true)?.unit ?? 'count';
  const rightUnit = props.series.find((s) => s.isRight === true)?.unit;
  const data: ChartData<'bar' | 'line', number[], string> = {
    labels: [...props.labels],
    datasets: props.series.map((s, i) => {
      const colour = PALETTE[i % PALETTE.length] ?? '#0b3d91';
      return {
        type: s.kind ?? 'bar',
        label: s.label,
        data: s.values.map((v) => plotted(v, s.unit)),
        backgroundColor: colour,
        borderColor: colour,
        borderWidth: s.kind === 'line' ? 2 : 0,
        pointRadius: s.kind === 'line' ? 2 : 0,
        yAxisID: s.isRight === true ? 'right' : 'left',
        ...(s.stack === undefined ? {} : { stack: s.stack }),
      };
    }),
  };
  const options: ChartOptions<'bar' | 'line'> = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: { position: 'bottom', labels: { boxWidth: 12 } },
      tooltip: {
        callbacks: {
          label: (item: TooltipItem<'bar' | 'line'>) => {
            const unit = props.series[item.datasetIndex]?.unit ?? 'count';
            return `${item.dataset.label ?? ''}: ${tooltipText(item.parsed.y ?? 0, unit)}`;
          },
        },
      },
    },
    scales: {
      x: { stacked: props.isStacked === true, ticks: { autoSkip: true, maxRotation: 0 } },
      left: {
        type: 'linear',
        position: 'left',
        stacked: props.isStacked === true,
        beginAtZero: true,
        // Counts and points are whole numbers: no 0.5 ticks on a small scale.
        // An empty money axis would otherwise run 0–1 paise and label every tick "₹0".
        ...(leftUnit === 'paise' ? { suggestedMax: 100_000 } : {}),
        ticks: { callback: axisTick(leftUnit), ...(leftUnit === 'paise' ? {} : { precision: 0 }) },
      },
      ...(rightUnit === undefined
        ? {}
        : {
            right: {
              type: 'linear' as const,
              position: 'right' as const,
              beginAtZero: true,
              grid: { drawOnChartArea: false },
              ...(rightUnit === 'paise' ? { suggestedMax: 100_000 } : {}),
              ticks: {
                callback: axisTick(rightUnit),
                ...(rightUnit === 'paise' ? {} : { precision: 0 }),
              },
            },
          }),
    },
  };
  return (
    <figure className="chart" data-testid={props.testid}>
      <figcaption>{props.title}</figcaption>
      <div className="chart-box">
        <Chart type="bar" data={data} options={options} role="img" aria-label={props.title} />
      </div>
    </figure>
  );
}

/** Shares of a whole (category mix): a doughnut with the legend beside it. */
export function ShareChart(props: {
  labels: readonly string[];
  values: readonly number[];
  unit: SeriesUnit;
  title: string;
  testid: string;
}) {
  const data: ChartData<'doughnut', number[], string> = {
    labels: [...props.labels],
    datasets: [
      {
        data: props.values.map((v) => plotted(v, props.unit)),
        backgroundColor: props.values.map((_, i) => PALETTE[i % PALETTE.length] ?? '#0b3d91'),
        borderWidth: 1,
      },
    ],
  };
  const options: ChartOptions<'doughnut'> = {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    plugins: {
      legend: { position: 'right', labels: { boxWidth: 12 } },
      tooltip: {
        callbacks: {
          label: (item: TooltipItem<'doughnut'>) =>
            `${item.label}: ${tooltipText(item.parsed, props.unit)}`,
        },
      },
    },
  };
  return (
    <figure className="chart" data-testid={props.testid}>
      <figcaption>{props.title}</figcaption>
      <div className="chart-box">
        <Doughnut data={data} options={options} role="img" aria-label={props.title} />
      </div>
    </figure>
  );
}
