/**
 * Data quality per domain and dimension over a window, beside the brief's targets
 * (`sync { <domain> { dataQuality(windowHours) } }`), and the trend of the weekly
 * integration-health reports (`integrationHealth`) per dimension.
 */
import { useState } from 'react';
import { dataQuality, type Domain, type QualityDimension } from './api.js';
import { TimeChart } from './TimeChart.js';
import { useGraph } from './useGraph.js';
import type { Credential } from '../shared/credentials.js';

const DIMENSIONS = ['accuracy', 'completeness', 'consistency', 'timeliness'] as const;
const WINDOWS = [1, 24, 168, 720];

function QualityCell({ dimension }: { dimension: QualityDimension | undefined }) {
  if (dimension === undefined || dimension.value === null) return <td className="muted">no records</td>;
  const verdict = dimension.meetsTarget === null ? '' : dimension.meetsTarget ? 'ok' : 'below';
  return (
    <td className={`quality-${verdict || 'none'}`}>
      {(dimension.value * 100).toFixed(2)} %
      {dimension.target !== null && <span className="target"> / target {(dimension.target * 100).toFixed(1)} %</span>}
    </td>
  );
}

export function QualityPanel({
  credential,
  domains,
}: {
  credential: Credential | undefined;
  domains: readonly Domain[];
}) {
  const [windowHours, setWindowHours] = useState(24);
  const quality = useGraph(`${credential?.value}:${windowHours}`, () => dataQuality(credential, windowHours, domains));
  const sync = quality.data?.sync;

  const trend = (dimension: 'accuracy' | 'completeness' | 'consistency') => {
    const times = new Set<number>();
    for (const domain of domains) {
      for (const { node } of sync?.[domain]?.integrationHealth.edges ?? [])
        times.add(Date.parse(node.periodEnd) / 1000);
    }
    const axis = [...times].sort((a, b) => a - b);
    const values = domains.map((domain) => {
      const byTime = new Map(
        (sync?.[domain]?.integrationHealth.edges ?? []).map(({ node }) => [
          Date.parse(node.periodEnd) / 1000,
          node[dimension],
        ]),
      );
      return axis.map((t) => byTime.get(t) ?? null);
    });
    return { axis, values };
  };
  const hasReports = domains.some((domain) => (sync?.[domain]?.integrationHealth.edges.length ?? 0) > 0);

  return (
    <section className="panel" id="quality">
      <h2>
        Data quality{' '}
        <select aria-label="window" value={windowHours} onChange={(e) => setWindowHours(Number(e.target.value))}>
          {WINDOWS.map((hours) => (
            <option key={hours} value={hours}>
              last {hours < 48 ? `${hours} h` : `${hours / 24} days`}
            </option>
          ))}
        </select>{' '}
        <button type="button" onClick={quality.reload}>
          Refresh
        </button>
      </h2>
      {quality.error !== undefined && <p className="error">{quality.error}</p>}
      <table className="grid" data-testid="quality">
        <thead>
          <tr>
            <th>domain</th>
            <th>records (rejected)</th>
            {DIMENSIONS.map((d) => (
              <th key={d}>{d}</th>
            ))}
            <th>score</th>
          </tr>
        </thead>
        <tbody>
          {domains.map((domain) => {
            const report = sync?.[domain]?.dataQuality;
            return (
              <tr key={domain}>
                <td>{domain}</td>
                <td>{report ? `${report.records} (${report.rejected})` : '–'}</td>
                {DIMENSIONS.map((d) => (
                  <QualityCell key={d} dimension={report?.[d]} />
                ))}
                <td>{report?.score === null || report === undefined ? '–' : report.score.toFixed(3)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {hasReports ? (
        <div className="charts">
          {(['accuracy', 'completeness', 'consistency'] as const).map((dimension) => {
            const { axis, values } = trend(dimension);
            return (
              <TimeChart
                key={dimension}
                title={`${dimension} by week (integration-health reports)`}
                names={domains}
                times={axis}
                values={values}
              />
            );
          })}
        </div>
      ) : (
        <p className="muted">
          No weekly integration-health reports yet: the trend charts fill as the <code>integration-health</code> job
          runs (weekly, or from the job runs below).
        </p>
      )}
    </section>
  );
}
