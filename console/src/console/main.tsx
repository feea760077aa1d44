import '../shared/bar.css';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { CredentialBar } from '../shared/CredentialBar.js';
import { loadCredential, type Credential } from '../shared/credentials.js';

function App() {
  const [credential, setCredential] = useState<Credential | undefined>(loadCredential);
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
