import { useEffect, useRef, useState } from 'react';
import type { Credential } from './credentials.js';
import {
  completeSignIn,
  currentSession,
  endSession,
  isCallback,
  loadOidcConfig,
  renew,
  renewalDelay,
  signIn,
  signOut,
  type OidcConfig,
  type OidcSession,
} from './oidc.js';

export interface SignIn {
  /** The gateway's sign-in settings; `undefined` while loading or when it offers none. */
  readonly config: OidcConfig | undefined;
  readonly session: OidcSession | undefined;
  /** Coming back from the provider, or leaving for it. */
  readonly busy: boolean;
  readonly error: string | undefined;
  signIn(): void;
  signOut(): void;
  /** The person pasted or forgot a credential: the provider's session no longer is the tab's. */
  forget(): void;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

// One per page load: StrictMode runs effects twice, and a code can be exchanged once only.
let config: Promise<OidcConfig | undefined> | undefined;
let callback: Promise<Credential> | undefined;

/** The identity provider's sign-in for the token bar (see oidc.ts). */
export function useSignIn(onChange: (credential: Credential | undefined) => void): SignIn {
  const [settings, setSettings] = useState<OidcConfig>();
  const [session, setSession] = useState<OidcSession | undefined>(currentSession);
  const [busy, setBusy] = useState(isCallback);
  const [error, setError] = useState<string>();
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    let live = true;
    const coming = isCallback();
    config ??= loadOidcConfig();
    config
      .then(async (loaded) => {
        if (!live) return;
        setSettings(loaded);
        if (loaded === undefined || !coming) return;
        callback ??= completeSignIn(loaded);
        const credential = await callback;
        if (!live) return;
        setSession(currentSession());
        changed.current(credential);
      })
      .catch((failure: unknown) => {
        if (live) setError(`Sign-in failed: ${message(failure)}`);
      })
      .finally(() => {
        if (live) setBusy(false);
      });
    return () => {
      live = false;
    };
  }, []);

  // Renew before the access token expires; without a refresh token the session ends.
  useEffect(() => {
    if (settings === undefined || session === undefined) return undefined;
    const timer = window.setTimeout(() => {
      renew(settings)
        .then((credential) => {
          if (credential === undefined) throw new Error('the session expired');
          setSession(currentSession());
          changed.current(credential);
        })
        .catch((failure: unknown) => {
          endSession();
          setSession(undefined);
          changed.current(undefined);
          setError(`Signed out: ${message(failure)}; sign in again`);
        });
    }, renewalDelay(session));
    return () => window.clearTimeout(timer);
  }, [settings, session]);

  return {
    config: settings,
    session,
    busy,
    error,
    signIn() {
      if (settings === undefined) return;
      setBusy(true);
      setError(undefined);
      signIn(settings).catch((failure: unknown) => {
        setBusy(false);
        setError(`Sign-in failed: ${message(failure)}`);
      });
    },
    signOut() {
      if (settings === undefined) return;
      setSession(undefined);
      changed.current(undefined);
      signOut(settings).catch((failure: unknown) => setError(`Sign-out at the provider failed: ${message(failure)}`));
    },
    forget() {
      if (session === undefined) return;
      endSession();
      setSession(undefined);
    },
  };
}
