/** Small shared pieces: error box, key/value table, copy button, the session (sign-in) state. */
import { createContext } from 'preact';
import { useContext, useState } from 'preact/hooks';
import { ApiError, fmt, send } from './http';

/** Anything JSON. */
export type Json = Record<string, unknown>;

/** A service error, readable, with its code. */
export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <article class="error" role="alert" data-code={e?.code ?? 'ERROR'}>
      <strong>{e?.code ?? 'Error'}</strong>
      {e?.field ? <span> ({e.field})</span> : null}: {error instanceof Error ? error.message : String(error)}
    </article>
  );
}

/** Key / value rows. */
export function KeyValues({ values, id }: { values: Record<string, unknown> | undefined; id?: string }) {
  const entries = Object.entries(values ?? {})
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return <p class="muted">none</p>;
  return (
    <table class="kv" id={id}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td class="mono">{typeof v === 'number' ? fmt(v) : typeof v === 'object' ? JSON.stringify(v) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Copies a value to the clipboard. */
export function Copy({ value, label = 'copy' }: { value: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      class="outline small-btn"
      title={value}
      onClick={() =>
        void navigator.clipboard?.writeText(value).then(
          () => setDone(true),
          () => setDone(false),
        )
      }
    >
      {done ? 'copied' : label}
    </button>
  );
}

/** Whether actions need the stack's token, and whether this browser has given it. */
export interface Session {
  authRequired: boolean;
  signedIn: boolean;
}
export const SessionContext = createContext<{ session: Session; setSession: (s: Session) => void }>({ session: { authRequired: false, signedIn: false }, setSession: () => undefined });

/** The sign-in form: the token goes once in a POST body; the gateway keeps it in an httpOnly cookie. */
export function SignIn() {
  const { session, setSession } = useContext(SessionContext);
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  if (!session.authRequired) return <span class="muted small">open stack: actions need no token</span>;
  if (session.signedIn)
    return (
      <span>
        signed in{' '}
        <button class="outline small-btn" onClick={() => void send<Session>('DELETE', '/session').then(setSession)}>
          sign out
        </button>
      </span>
    );
  return (
    <form
      class="signin"
      onSubmit={(e) => {
        e.preventDefault();
        send<Session>('POST', '/session', { token })
          .then((s) => {
            setToken('');
            setError(undefined);
            setSession(s);
          })
          .catch(setError);
      }}
    >
      <input type="password" name="token" autocomplete="off" placeholder="stack bearer token" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
      <button type="submit">Sign in</button>
      <ErrorBox error={error} />
    </form>
  );
}
