// What `dwe journal`, the HTTP API and the console never show of a journaled request or response:
// credentials. A guest's `http.request` carries its Authorization header (or a cookie, an API key)
// in the request the journal keeps for display, and a response may set a cookie; those are read by
// whoever can read the journal view, which need not be whoever may call the service. Replay never
// reads them (it checks the request's digest), so hiding them changes nothing a run does. The
// stored bytes are as the guest sent them, like the run's own env and input: the database file is
// the user's (docs/security.md).

/** Header and field names whose values are credentials (compared lowercased). */
const SECRET_NAMES = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-auth-token",
  "x-amz-security-token",
  "password",
  "secret",
  "token",
  "access_token",
  "refresh_token",
  "client_secret",
]);

export const REDACTED = "[redacted]";

/** True when a field or header named `name` holds a credential. */
export function isSecretName(name: string): boolean {
  return SECRET_NAMES.has(name.toLowerCase());
}

/** A URL with the password of its user info hidden (`https://u:p@host` → `https://u:[redacted]@host`); other strings as they are. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:?#]*):[^/@?#]*@/i, `$1:${REDACTED}@`);
}
