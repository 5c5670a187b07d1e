/**
 * The allow-list of WebEx servers (`webex.allowedHosts`): the only places the adaptor will ever
 * POST to, and the only `WbxHostName` values it accepts. No W2A field can make it connect
 * elsewhere (spec 1; issue 8, SSRF).
 *
 * An entry is either
 * - a URL prefix, `https://tsp.example.com[:port][/path]`: same scheme, same host, the same port
 *   when one is written (any port when none is), and a path inside the given path; or
 * - a host pattern, `tsp.example.com[:port]` or `*.example.com[:port]`: HTTPS only, that host
 *   (or any subdomain for `*.`), the same port when one is written.
 * URLs carrying a user name or password never match.
 *
 * Entries are parsed once at start-up into matchers; a check is a few string comparisons.
 */

interface Matcher {
  protocols: ReadonlySet<string>;
  /** Lower case; for a wildcard, the suffix including its leading dot. */
  host: string;
  wildcard: boolean;
  /** Empty = any port. */
  port: string;
  /** Without a trailing slash; empty = any path. */
  path: string;
}

const HTTPS_ONLY: ReadonlySet<string> = new Set(['https:']);
const HOST_PATTERN = /^(\*\.)?([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$/;

/** Why an entry cannot be used, or undefined when it is fine (the config schema calls this). */
export function allowedHostProblem(entry: string): string | undefined {
  try {
    parseEntry(entry);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Compiles the entries; the returned check says whether a URL may be posted to. */
export function compileAllowedHosts(entries: readonly string[]): (url: string) => boolean {
  const matchers = entries.map(parseEntry);
  return (url: string): boolean => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.username || parsed.password) return false;
    return matchers.some((m) => matches(m, parsed));
  };
}

function matches(m: Matcher, url: URL): boolean {
  if (!m.protocols.has(url.protocol)) return false;
  const host = url.hostname.toLowerCase();
  if (m.wildcard ? !host.endsWith(m.host) || host.length === m.host.length : host !== m.host) return false;
  if (m.port && effectivePort(url) !== m.port) return false;
  if (m.path && url.pathname !== m.path && !url.pathname.startsWith(`${m.path}/`)) return false;
  return true;
}

function effectivePort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function parseEntry(entry: string): Matcher {
  if (/^https?:\/\//i.test(entry)) {
    const wildcard = /^https?:\/\/\*\./i.test(entry);
    const url = new URL(wildcard ? entry.replace('*.', 'wildcard.') : entry);
    if (url.username || url.password) throw new Error('must not carry a user name or password');
    if (url.search || url.hash) throw new Error('must not carry a query or fragment');
    const host = url.hostname.toLowerCase();
    return {
      protocols: new Set([url.protocol]),
      host: wildcard ? host.slice('wildcard'.length) : host,
      wildcard,
      port: explicitPort(entry, url),
      path: url.pathname.replace(/\/+$/, ''),
    };
  }
  const match = HOST_PATTERN.exec(entry);
  if (!match) {
    throw new Error('must be a URL prefix (https://host[:port][/path]) or a host pattern (host[:port], *.domain)');
  }
  const wildcard = Boolean(match[1]);
  const host = match[2]!.toLowerCase();
  return { protocols: HTTPS_ONLY, host: wildcard ? `.${host}` : host, wildcard, port: match[4]?.slice(1) ?? '', path: '' };
}

/** The URL parser drops a default port (`:443`); an entry that wrote it still means it. */
function explicitPort(entry: string, url: URL): string {
  if (url.port) return url.port;
  const authority = entry.replace(/^https?:\/\//i, '').split('/')[0] ?? '';
  return /:[0-9]+$/.test(authority) && !authority.endsWith(']') ? effectivePort(url) : '';
}
