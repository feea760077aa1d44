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
import { credentialDomains, credentialRoles, loadCredential, type Credential } from '../shared/credentials.js';
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

/**
 * What the panels ask for, from what the credential says of itself (the gateway decides; this only
 * keeps the page from asking for what it would refuse). An integration account reads the sync
 * bookkeeping of the domains its token names, not the audit trail nor the consumers' event dead
 * letters (admins'); anyone else is asked for everything and shown the gateway's answer.
 */
interface View {
  readonly domains: readonly Domain[];
  readonly admin: boolean;
  readonly integration: boolean;
}

function viewOf(credential: Credential | undefined): View {
  const roles = credentialRoles(credential);
  const named = credentialDomains(credential);
  if (roles === undefined || roles.includes('admin') || !roles.includes('integration') || named === undefined)
    return { domains: DOMAINS, admin: roles === undefined || roles.includes('admin'), integration: false };
  return { domains: DOMAINS.filter((d) => named.includes(d)), admin: false, integration: true };
}

function Notice({ credential }: { credential: Credential | undefined }) {
  const roles = credentialRoles(credential);
  if (credential === undefined) {
    return (
      <p className="notice">
        Sign in above, or paste a token. In development:{' '}
        <code>npm run token -- --tenant acme --role admin --user u1</code>; in production, the identity provider's
        sign-in (or its token for the hub).
      </p>
    );
  }
  if (roles !== undefined && !roles.includes('admin')) {
    return (
      <p className="notice" data-testid="not-admin">
        {roles.includes('integration')
          ? `This is an integration account of ${credentialDomains(credential)?.join(', ') ?? 'no domain'}: it sees those domains’ sync health, quality, dead letters (and replays its own), conflicts and job runs; the audit trail and the other domains are for admins (README, “Integration accounts”).`
          : `Sync bookkeeping is for admins and integration accounts; this token has ${roles.join(', ')}. The panels below show the gateway’s answer.`}
      </p>
    );
  }
  return null;
}

function App() {
  const [credential, setCredential] = useState<Credential | undefined>(initialCredential);
  const view = useMemo(() => viewOf(credential), [credential]);
  const [chosen, setDomain] = useState<Domain>(initialDomain);
  const domain = view.domains.includes(chosen) ? chosen : (view.domains[0] ?? chosen);
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
            <LivePanel client={client} intervalMs={intervalMs} domains={view.domains} />
            <QualityPanel credential={credential} domains={view.domains} />
            <nav className="domains" aria-label="domain">
              {view.domains.map((d) => (
                <button key={d} type="button" className={d === domain ? 'active' : ''} onClick={() => choose(d)}>
                  {d}
                </button>
              ))}
            </nav>
            <DeadLettersPanel credential={credential} domain={domain} withEvents={!view.integration} />
            <ConflictsPanel credential={credential} domain={domain} canOverride={!view.integration} />
            <JobsPanel credential={credential} domain={domain} canRun={!view.integration} />
            {!view.integration && <AuditPanel credential={credential} />}
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
