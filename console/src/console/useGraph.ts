import { useCallback, useEffect, useState } from 'react';
import { errorText, type GraphQLResult } from '../shared/graphql.js';

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` when `key` changes (and on `reload()`); keeps the last answer while reloading. */
export function useGraph<T>(key: string, load: () => Promise<GraphQLResult<T>>): Loaded<T> {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  const reload = useCallback(() => setRound((n) => n + 1), []);

  useEffect(() => {
    let current = true;
    setLoading(true);
    void load().then((result) => {
      if (!current) return;
      setData(result.data ?? undefined);
      setError(errorText(result.errors));
      setLoading(false);
    });
    return () => {
      current = false;
    };
    // `load` is rebuilt on every render; `key` names what it loads.
  }, [key, round]);

  return { data, error, loading, reload };
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '–');
