/**
 * The offline explorer at /graphiql: GraphiQL bundled with its Monaco editor and workers, so it
 * works where Apollo Sandbox (served from Apollo's CDN) cannot load. Queries and mutations go over
 * HTTP, subscriptions over graphql-ws; both carry the credential of the token bar. Headers typed in
 * GraphiQL's own header editor win over the bar's.
 */
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '../shared/bar.css';
import './graphiql.css';
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { CredentialBar } from '../shared/CredentialBar.js';
import { loadCredential, type Credential } from '../shared/credentials.js';
import { createWsClient, fetchWithCredential, httpUrl } from '../shared/graphql.js';

const DEFAULT_QUERY = `# The hub's graph. Introspection (the docs and completion) is for admins.
# Paste a token above: npm run token -- --tenant acme --role admin --user u1
query FirstCustomers {
  customers(first: 3) {
    totalCount
    edges {
      node {
        id
        name
        health {
          score
        }
      }
    }
  }
}
`;

// Read before the first render: a token handed over in the URL leaves the address bar at once.
const initialCredential = loadCredential();

function App() {
  const [credential, setCredential] = useState<Credential | undefined>(initialCredential);
  const current = useRef(credential);
  current.current = credential;

  // A new credential means a new socket: graphql-ws authenticates once, in connection_init.
  const wsClient = useMemo(() => createWsClient(() => current.current), [credential]);
  useEffect(() => () => void wsClient.dispose(), [wsClient]);
  const fetcher = useMemo(
    () =>
      createGraphiQLFetcher({
        url: httpUrl(),
        wsClient,
        enableIncrementalDelivery: false,
        fetch: fetchWithCredential(() => current.current),
      }),
    [wsClient],
  );

  return (
    <div className="hub-page">
      <CredentialBar title="GraphiQL" credential={credential} onChange={setCredential}>
        <a href="/console">Console</a>
        <a href="/graphql">Apollo Sandbox</a>
      </CredentialBar>
      <div className="hub-graphiql">
        <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} shouldPersistHeaders={false} />
      </div>
    </div>
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
