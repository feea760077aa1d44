import { useState, type ReactNode } from 'react';
import {
  clearCredential,
  describeCredential,
  isRemembered,
  parseCredential,
  saveCredential,
  type Credential,
  type CredentialKind,
} from './credentials.js';
import { useSignIn } from './useSignIn.js';

export interface CredentialBarProps {
  readonly title: string;
  readonly credential: Credential | undefined;
  readonly onChange: (credential: Credential | undefined) => void;
  /** Extra links or buttons on the right (e.g. the other page, an identity provider's sign-in). */
  readonly children?: ReactNode;
}

/**
 * The token bar every page shares: paste a bearer token or an API key, keep it for the tab or the
 * browser; or, when the gateway names an identity provider, "Sign in" there (useSignIn.ts).
 */
export function CredentialBar({ title, credential, onChange, children }: CredentialBarProps) {
  const [draft, setDraft] = useState('');
  const [kind, setKind] = useState<CredentialKind | 'auto'>('auto');
  const [remember, setRemember] = useState(isRemembered);
  const login = useSignIn(onChange);

  const apply = () => {
    const next = parseCredential(draft, kind === 'auto' ? undefined : kind);
    if (next === undefined) return;
    login.forget();
    saveCredential(next, remember);
    setDraft('');
    onChange(next);
  };
  const clear = () => {
    login.forget();
    clearCredential();
    onChange(undefined);
  };

  return (
    <header className="hub-bar">
      <strong className="hub-bar-title">{title}</strong>
      <form
        className="hub-bar-form"
        onSubmit={(event) => {
          event.preventDefault();
          apply();
        }}
      >
        <select aria-label="credential kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
          <option value="auto">auto</option>
          <option value="bearer">Bearer token</option>
          <option value="apiKey">API key (x-api-key)</option>
        </select>
        <input
          name="credential"
          type="password"
          autoComplete="off"
          placeholder="paste a token (npm run token -- --tenant acme --role admin) or an API key"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
        />
        <label>
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} /> remember
        </label>
        <button type="submit">Use</button>
        <button type="button" onClick={clear} disabled={credential === undefined}>
          Forget
        </button>
      </form>
      {login.config !== undefined &&
        (login.session === undefined ? (
          <button type="button" className="hub-bar-signin" onClick={login.signIn} disabled={login.busy}>
            {login.busy ? 'Signing in…' : 'Sign in'}
          </button>
        ) : (
          <button type="button" onClick={login.signOut}>
            Sign out
          </button>
        ))}
      <span className="hub-bar-who" data-testid="credential">
        {describeCredential(credential)}
      </span>
      {login.error !== undefined && (
        <span className="hub-bar-error" role="alert" data-testid="signin-error">
          {login.error}
        </span>
      )}
      <nav className="hub-bar-links">{children}</nav>
    </header>
  );
}
