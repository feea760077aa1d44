/**
 * Dead letters of one domain: sync events the pipeline refused (reason, field, the payload as
 * received) with replay as stored or as corrected, and change events a consumer gave up on, with
 * replay (`replay<Domain>DeadLetter`, `replay<Domain>EventDeadLetter`).
 */
import { useState } from 'react';
import { deadLetters, replayDeadLetter, replayEventDeadLetter, type DeadLetter, type Domain } from './api.js';
import { useGraph, when } from './useGraph.js';
import { errorText } from '../shared/graphql.js';
import type { Credential } from '../shared/credentials.js';

function pretty(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

function Letter({
  credential,
  domain,
  letter,
  onDone,
}: {
  credential: Credential | undefined;
  domain: Domain;
  letter: DeadLetter;
  /** A replay that took the letter off the list: `text` says how it went (the letter is gone on reload). */
  onDone: (text: string) => void;
}) {
  const [draft, setDraft] = useState(() => pretty(letter.payload));
  const [outcome, setOutcome] = useState<string | undefined>();
  const replay = async (corrected: boolean) => {
    let payload: unknown;
    if (corrected) {
      try {
        payload = JSON.parse(draft);
      } catch (error) {
        setOutcome(`the corrected payload is not JSON: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
    }
    const result = await replayDeadLetter(credential, domain, letter, payload);
    const answer = result.data?.['result'];
    const text =
      errorText(result.errors) ??
      (answer
        ? `${answer.outcome}${answer.reason ? ` — ${answer.code}: ${answer.reason} (${answer.field ?? ''})` : ''}`
        : '');
    setOutcome(text);
    if (answer && answer.outcome !== 'REJECTED') onDone(text);
  };
  return (
    <li className="letter" data-testid={`dead-letter-${letter.id}`}>
      <div className="letter-head">
        <strong>{letter.kind}</strong> from <code>{letter.source}</code> · {when(letter.receivedAt)} ·{' '}
        <span className="error">
          {letter.code}: {letter.reason}
        </span>
        {letter.field !== null && (
          <>
            {' '}
            at <code>{letter.field}</code>
          </>
        )}
      </div>
      <textarea
        aria-label="payload"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        rows={8}
        spellCheck={false}
      />
      <div className="actions">
        <button type="button" onClick={() => void replay(false)}>
          Replay as stored
        </button>
        <button type="button" onClick={() => void replay(true)}>
          Replay corrected
        </button>
        {outcome !== undefined && <span data-testid="replay-outcome">{outcome}</span>}
      </div>
    </li>
  );
}

export function DeadLettersPanel({
  credential,
  domain,
  withEvents,
}: {
  credential: Credential | undefined;
  domain: Domain;
  /** The consumers' change-event dead letters hold other domains' events: admins only. */
  withEvents: boolean;
}) {
  const loaded = useGraph(`${credential?.value}:${domain}:${withEvents}`, () =>
    deadLetters(credential, domain, withEvents),
  );
  const [eventOutcome, setEventOutcome] = useState<Record<string, string>>({});
  // Shown above the list: a replayed letter leaves it with the reload that follows.
  const [lastReplay, setLastReplay] = useState<{ id: string; text: string } | undefined>();
  const sync = loaded.data?.sync[domain];
  const letters = sync?.deadLetters.edges.map((e) => e.node) ?? [];
  const events = sync?.eventDeadLetters?.edges.map((e) => e.node).filter((e) => e.replayedAt === null) ?? [];

  return (
    <section className="panel" id="dead-letters">
      <h2>
        Dead letters · {domain}{' '}
        <button type="button" onClick={loaded.reload}>
          Refresh
        </button>
      </h2>
      {loaded.error !== undefined && <p className="error">{loaded.error}</p>}
      <h3>Sync events refused ({sync?.deadLetters.totalCount ?? '…'} waiting)</h3>
      {lastReplay !== undefined && (
        <p data-testid="last-replay" data-letter={lastReplay.id}>
          Replayed <code>{lastReplay.id}</code>: <span data-testid="last-replay-outcome">{lastReplay.text}</span>
        </p>
      )}
      {letters.length === 0 ? (
        <p className="muted">None waiting.</p>
      ) : (
        <ul className="letters">
          {letters.map((letter) => (
            <Letter
              key={letter.id}
              credential={credential}
              domain={domain}
              letter={letter}
              onDone={(text) => {
                setLastReplay({ id: letter.id, text });
                loaded.reload();
              }}
            />
          ))}
        </ul>
      )}
      {withEvents && <h3>Change events a consumer gave up on ({events.length} waiting)</h3>}
      {!withEvents ? null : events.length === 0 ? (
        <p className="muted">None waiting.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>consumer</th>
              <th>event</th>
              <th>reason</th>
              <th>attempts</th>
              <th>last failed</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id}>
                <td>{event.consumer}</td>
                <td>
                  {event.stream} · {event.type}
                </td>
                <td className="wrap">{event.reason}</td>
                <td>{event.attempts}</td>
                <td>{when(event.lastFailedAt)}</td>
                <td>
                  <button
                    type="button"
                    onClick={() =>
                      void replayEventDeadLetter(credential, domain, event.id).then((result) => {
                        setEventOutcome((all) => ({
                          ...all,
                          [event.id]:
                            errorText(result.errors) ??
                            `${result.data?.result.outcome ?? ''} ${result.data?.result.reason ?? ''}`,
                        }));
                        loaded.reload();
                      })
                    }
                  >
                    Replay
                  </button>{' '}
                  {eventOutcome[event.id]}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
