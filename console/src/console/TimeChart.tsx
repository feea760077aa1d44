import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface TimeChartProps {
  readonly title: string;
  /** One name per series (`values[i]`), e.g. the domains. */
  readonly names: readonly string[];
  /** Seconds since the epoch, one per point. */
  readonly times: readonly number[];
  /** `values[series][point]`; null where a series has no value. */
  readonly values: readonly (readonly (number | null)[])[];
  readonly unit?: string;
  readonly height?: number;
  readonly testId?: string;
}

const COLORS = ['#3b82f6', '#ef4444', '#10b981', '#f59e0b', '#8b5cf6', '#ec4899', '#14b8a6', '#64748b'];

/**
 * A time-series chart (uPlot, canvas). The latest value of each series is also written to the
 * container's data attributes (`data-points`, `data-last-<name>`) for tests and accessibility tools.
 */
export function TimeChart({ title, names, times, values, unit = '', height = 180, testId }: TimeChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = names.join('|');

  useEffect(() => {
    const element = host.current;
    if (element === null) return undefined;
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height,
        series: [
          {},
          ...names.map((name, i) => ({
            label: name,
            stroke: COLORS[i % COLORS.length] ?? '#000',
            width: 2,
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${Number(v.toFixed(3))}${unit}`),
          })),
        ],
        axes: [{}, { size: 60 }],
        scales: { x: { time: true } },
        legend: { live: false },
      },
      [[], ...names.map(() => [])],
      element,
    );
    plot.current = chart;
    const resize = new ResizeObserver(() => chart.setSize({ width: Math.max(280, element.clientWidth), height }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when its series change; data flows in through setData below.
  }, [shape, height, unit]);

  useEffect(() => {
    plot.current?.setData([times as number[], ...values.map((series) => series as (number | null)[])]);
  }, [times, values]);

  const last = Object.fromEntries(
    names.map((name, i) => {
      const series = values[i] ?? [];
      return [`data-last-${name}`, String(series[series.length - 1] ?? '')];
    }),
  );
  return (
    <figure className="chart" data-testid={testId} data-points={times.length} {...last}>
      <figcaption>{title}</figcaption>
      <div ref={host} />
    </figure>
  );
}
