/**
 * The integration console at /console: sync health of the viewer's tenant, built from the graph
 * only — the `syncStatus` subscription over graphql-ws for the live charts, `sync { <domain> … }`
 * queries and the per-domain admin mutations for quality, dead letters, conflicts and job runs.
 * The gateway decides what the credential may see; the page only asks.
 *
 * URL options: `?domain=product` (the detail panels' domain), `?interval=2000` (ms between live
 * points, 1000–60000), `#token=…` (handed over and removed at once, see credentials.ts).
 */
import '../shared/bar.css';
import './console.css';
import { StrictMode, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { CredentialBar } from '../shared/CredentialBar.js';
import { decodeJwtClaims, loadCredential, type Credential } from '../shared/credentials.js';
import { createWsClient } from '../shared/graphql.js';
import { DOMAINS, type Domain } from './api.js';
import { AuditPanel } from './AuditPanel.js';
import { ConflictsPanel } from './ConflictsPanel.js';
import { DeadLettersPanel } from './DeadLettersPanel.js';
import { JobsPanel } from './JobsPanel.js';
import { LivePanel } from './LivePanel.js';
import { QualityPanel } from './QualityPanel.js';

// Read before the first render: a token handed over in the URL leaves the address bar at once.
const initialCredential = loadCredential();
const params = new URLSearchParams(window.location.search);
const initialDomain = (DOMAINS as readonly string[]).includes(params.get('domain') ?? '')
  ? (params.get('domain') as Domain)
  : 'product';
const intervalMs = Math.min(60_000, Math.max(1000, Number(params.get('interval')) || 2000));

function rolesOf(credential: Credential | undefined): string[] | undefined {
  if (credential?.kind !== 'bearer') return undefined;
  const roles = decodeJwtClaims(credential.value)?.['roles'];
  return Array.isArray(roles) ? roles.map(String) : undefined;
}

function Notice({ credential }: { credential: Credential | undefined }) {
  const roles = rolesOf(credential);
  if (credential === undefined) {
    return (
      <p className="notice">
        Paste a token above. In development: <code>npm run token -- --tenant acme --role admin --user u1</code>; in
        production, your identity provider's token for the hub.
      </p>
    );
  }
  if (roles !== undefined && !roles.includes('admin')) {
    return (
      <p className="notice" data-testid="not-admin">
        {roles.includes('integration')
          ? 'This is an integration account: the graph lets it push its domains’ sync events but read nothing, sync bookkeeping included (README, “Integration accounts”). The panels below need an admin of the tenant; each shows the gateway’s answer.'
          : `Sync bookkeeping is for admins; this token has ${roles.join(', ')}. The panels below show the gateway’s answer.`}
      </p>
    );
  }
  return null;
}

function App() {
  const [credential, setCredential] = useState<Credential | undefined>(initialCredential);
  const [domain, setDomain] = useState<Domain>(initialDomain);
  const current = useRef(credential);
  current.current = credential;
  // graphql-ws authenticates in connection_init: a new credential means a new socket.
  const client = useMemo(() => createWsClient(() => current.current), [credential]);
  useEffect(() => () => void client.dispose(), [client]);

  const choose = (next: Domain) => {
    setDomain(next);
    const url = new URL(window.location.href);
    url.searchParams.set('domain', next);
    window.history.replaceState(window.history.state, '', url.toString());
  };

  return (
    <>
      <CredentialBar title="Integration console" credential={credential} onChange={setCredential}>
        <a href="/graphiql">GraphiQL</a>
        <a href="/graphql">Apollo Sandbox</a>
      </CredentialBar>
      <main className="console">
        <Notice credential={credential} />
        {credential !== undefined && (
          <>
            <LivePanel client={client} intervalMs={intervalMs} />
            <QualityPanel credential={credential} />
            <nav className="domains" aria-label="domain">
              {DOMAINS.map((d) => (
                <button key={d} type="button" className={d === domain ? 'active' : ''} onClick={() => choose(d)}>
                  {d}
                </button>
              ))}
            </nav>
            <DeadLettersPanel credential={credential} domain={domain} />
            <ConflictsPanel credential={credential} domain={domain} />
            <JobsPanel credential={credential} domain={domain} />
            <AuditPanel credential={credential} />
          </>
        )}
      </main>
    </>
  );
}

const root = document.getElementById('root');
if (root !== null) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
