/**
 * Field conflicts of one domain not yet overridden, with both values, their sources and source
 * times, the rule that decided and the winner; an admin keeps either side
 * (`resolve<Domain>Conflict`, through the same pipeline, recorded as an OVERRIDE).
 */
import { useState } from 'react';
import { conflicts, resolveConflict, type Conflict, type Domain } from './api.js';
import { useGraph, when } from './useGraph.js';
import { errorText } from '../shared/graphql.js';
import type { Credential } from '../shared/credentials.js';

function Side({
  label,
  value,
  source,
  at,
  won,
}: {
  label: string;
  value: string | null;
  source: string | null;
  at: string | null;
  won: boolean;
}) {
  return (
    <div className={`side ${won ? 'side-won' : ''}`}>
      <div className="side-label">
        {label} {won && <span className="badge badge-live">kept</span>}
      </div>
      <code className="value">{value ?? 'null'}</code>
      <div className="muted">
        {source ?? '?'} · {when(at)}
      </div>
    </div>
  );
}

export function ConflictsPanel({
  credential,
  domain,
  canOverride,
}: {
  credential: Credential | undefined;
  domain: Domain;
  /** `resolve<Domain>Conflict` is for admins: others read both values without the buttons. */
  canOverride: boolean;
}) {
  const loaded = useGraph(`${credential?.value}:${domain}`, () => conflicts(credential, domain));
  const [outcomes, setOutcomes] = useState<Record<string, string>>({});
  const list: Conflict[] = loaded.data?.sync[domain]?.syncConflicts.edges.map((e) => e.node) ?? [];

  const pick = async (conflict: Conflict, side: 'STORED' | 'INCOMING') => {
    const result = await resolveConflict(credential, domain, conflict.id, side);
    setOutcomes((all) => ({
      ...all,
      [conflict.id]:
        errorText(result.errors) ??
        `${side === 'STORED' ? 'kept stored' : 'took incoming'}: ${result.data?.result.outcome ?? ''}`,
    }));
    loaded.reload();
  };

  return (
    <section className="panel" id="conflicts">
      <h2>
        Conflicts · {domain} ({loaded.data?.sync[domain]?.syncConflicts.totalCount ?? '…'} not overridden){' '}
        <button type="button" onClick={loaded.reload}>
          Refresh
        </button>
      </h2>
      {loaded.error !== undefined && <p className="error">{loaded.error}</p>}
      {Object.entries(outcomes).map(([id, text]) => (
        <p key={id} data-testid="override-outcome">
          {text}
        </p>
      ))}
      {list.length === 0 ? (
        <p className="muted">No conflicts waiting for a decision.</p>
      ) : (
        <ul className="conflicts">
          {list.map((conflict) => (
            <li key={conflict.id} className="conflict" data-testid={`conflict-${conflict.id}`}>
              <div>
                <strong>
                  {conflict.model}.{conflict.field}
                </strong>{' '}
                <code>{conflict.rowKey}</code> · rule {conflict.rule} · decided {when(conflict.decidedAt)}
              </div>
              <div className="sides">
                <Side
                  label="stored"
                  value={conflict.storedValue}
                  source={conflict.storedSource}
                  at={conflict.storedAt}
                  won={conflict.winner === 'STORED'}
                />
                <Side
                  label="incoming"
                  value={conflict.incomingValue}
                  source={conflict.incomingSource}
                  at={conflict.incomingAt}
                  won={conflict.winner === 'INCOMING'}
                />
              </div>
              {canOverride && (
                <div className="actions">
                  <button type="button" onClick={() => void pick(conflict, 'STORED')}>
                    Override: keep stored
                  </button>
                  <button type="button" onClick={() => void pick(conflict, 'INCOMING')}>
                    Override: use incoming
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
