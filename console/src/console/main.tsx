import '../shared/bar.css';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { CredentialBar } from '../shared/CredentialBar.js';
import { loadCredential, type Credential } from '../shared/credentials.js';

// Read before the first render: a token handed over in the URL leaves the address bar at once.
const initialCredential = loadCredential();

function App() {
  const [credential, setCredential] = useState<Credential | undefined>(initialCredential);
  return (
    <CredentialBar title="Integration console" credential={credential} onChange={setCredential}>
      <a href="/graphiql">GraphiQL</a>
    </CredentialBar>
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
