/**
 * The audit trail of one customer across every domain, newest first: who, when, source system,
 * idempotency key, action and each changed field's before/after, personal values as the markers the
 * trail stores ([PII], [CONFIDENTIAL]). One query selects every domain's `auditTrail` (newest
 * first); "More" asks the domains that have more for their next page (auditMerge.ts keeps the
 * merged order right).
 *
 * URL option: `?auditPage=25` (entries per domain and page, 1–100).
 */
import { useRef, useState, type FormEvent } from 'react';
import { auditTrail, DOMAINS, type AuditEntry, type AuditLookup, type Domain } from './api.js';
import { addPages, EMPTY_TRAIL, nextPages, shownEntries, totalCount, type Trail } from './auditMerge.js';
import { when } from './useGraph.js';
import { errorText } from '../shared/graphql.js';
import type { Credential } from '../shared/credentials.js';

const pageSize = Math.min(100, Math.max(1, Number(new URLSearchParams(window.location.search).get('auditPage')) || 25));

/** A `datetime-local` value (the browser's zone) as an ISO time, or null when empty. */
const isoOf = (local: string) => (local === '' ? null : new Date(local).toISOString());

const shown = (value: unknown) =>
  value === null || value === undefined ? '–' : typeof value === 'string' ? value : JSON.stringify(value);

function Value({ value }: { value: unknown }) {
  const text = shown(value);
  return <code className={/^\[(PII|CONFIDENTIAL)\]$/.test(text) ? 'marker' : undefined}>{text}</code>;
}

/** `changes` as the trail stores it: `{field: [before, after]}`, `{fields}` for reads, counts for an erasure. */
function Changes({ entry }: { entry: AuditEntry }) {
  let changes: Record<string, unknown>;
  try {
    changes = JSON.parse(entry.changes) as Record<string, unknown>;
  } catch {
    return <code>{entry.changes}</code>;
  }
  if (entry.action === 'PII_READ') {
    const fields = Array.isArray(changes['fields']) ? changes['fields'].map(String) : [];
    return <span>read unmasked: {fields.join(', ')}</span>;
  }
  return (
    <ul className="changes">
      {Object.entries(changes).map(([field, change]) => (
        <li key={field} data-testid={`change-${field}`}>
          <strong>{field}</strong>{' '}
          {Array.isArray(change) && change.length === 2 ? (
            <>
              <Value value={change[0]} /> → <Value value={change[1]} />
            </>
          ) : (
            <Value value={change} />
          )}
        </li>
      ))}
    </ul>
  );
}

export function AuditPanel({ credential }: { credential: Credential | undefined }) {
  const [customerId, setCustomerId] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [lookup, setLookup] = useState<AuditLookup | undefined>();
  const [trail, setTrail] = useState<Trail>(EMPTY_TRAIL);
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);
  // Answers of an earlier look-up that arrive late are dropped.
  const round = useRef(0);

  const load = async (target: AuditLookup, base: Trail, pages: Partial<Record<Domain, string | null>>) => {
    const mine = ++round.current;
    setLoading(true);
    const result = await auditTrail(credential, target, pages, pageSize);
    if (mine !== round.current) return;
    setLoading(false);
    setError(errorText(result.errors));
    setTrail(addPages(base, result.data?.sync ?? {}));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const target = { customerId: customerId.trim(), from: isoOf(from), to: isoOf(to) };
    if (target.customerId === '') return;
    setLookup(target);
    setTrail(EMPTY_TRAIL);
    void load(target, EMPTY_TRAIL, Object.fromEntries(DOMAINS.map((d) => [d, null])));
  };

  const entries = shownEntries(trail);
  const more = nextPages(trail);
  const hasMore = Object.keys(more).length > 0;

  return (
    <section className="panel" id="audit">
      <h2>Audit trail of a customer</h2>
      <form className="actions" onSubmit={submit}>
        <input
          aria-label="customer id"
          placeholder="customer id, e.g. cust_00001"
          value={customerId}
          onChange={(e) => setCustomerId(e.target.value)}
        />
        <label>
          from <input aria-label="from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          to <input aria-label="to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" disabled={customerId.trim() === ''}>
          Look up
        </button>
      </form>
      {error !== undefined && <p className="error">{error}</p>}
      {lookup !== undefined && (
        <p className="muted" data-testid="audit-summary">
          {loading && trail.entries.length === 0
            ? 'loading…'
            : `${lookup.customerId}: ${entries.length} of ${totalCount(trail)} entries across ${DOMAINS.length} domains, newest first`}
        </p>
      )}
      {lookup !== undefined && entries.length > 0 && (
        <table className="grid audit">
          <thead>
            <tr>
              <th>when</th>
              <th>domain</th>
              <th>who</th>
              <th>source</th>
              <th>idempotency key</th>
              <th>action</th>
              <th>changes</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id} data-testid={`audit-entry-${entry.id}`}>
                <td>{when(entry.at)}</td>
                <td>
                  {entry.domain} <span className="muted">#{entry.position}</span>
                </td>
                <td className="wrap narrow">
                  {entry.actorType} <strong>{entry.actorId}</strong>
                  {entry.actorRole !== null && <span className="muted"> ({entry.actorRole})</span>}
                </td>
                <td>{entry.source ?? '–'}</td>
                <td className="wrap narrow">
                  <code>{entry.idempotencyKey ?? '–'}</code>
                </td>
                <td className="wrap">
                  <strong>{entry.action}</strong> {entry.operation ?? ''}
                  {entry.model !== null && (
                    <div className="muted">
                      {entry.model} {entry.rowId ?? ''}
                    </div>
                  )}
                </td>
                <td className="wrap changed">
                  <Changes entry={entry} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {lookup !== undefined && hasMore && (
        <button type="button" disabled={loading} onClick={() => void load(lookup, trail, more)}>
          More
        </button>
      )}
    </section>
  );
}
