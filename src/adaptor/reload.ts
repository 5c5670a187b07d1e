/**
 * SIGHUP (`systemctl reload`): re-read the configuration file and apply what can change in a
 * running daemon. Each reloadable part registers the key paths it owns and how to apply a new
 * configuration (log level, WebEx allow-list, dial-out policy; certificates can join the same
 * way). Any other key that changed is logged as needing a restart and keeps its running value,
 * so it is reported again on every reload until the restart. A file that no longer validates
 * changes nothing.
 *
 * `runtimeParts` lists the parts a single instance and a cluster member share, so SIGHUP does
 * the same on both.
 */
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { compileAllowedHosts } from './http/allowed-hosts.js';
import type { WebexListener } from './http/webex-listener.js';
import type { RootLogger } from './log.js';
import type { EngineOptions } from './options.js';
import { loadListenerTls } from './tls.js';

export interface ReloadablePart {
  /** For the log, e.g. `dial-out policy`. */
  name: string;
  /** Key paths or their prefixes this part applies at run time, e.g. `dialOut`, `log.level`. */
  keys: readonly string[];
  /**
   * Applied on every reload, changed keys or not: for parts whose input lives outside the
   * configuration, such as certificate files renewed in place at the same path.
   */
  everyReload?: boolean;
  /** May throw (or reject): logged with the part's name; the other parts still apply. */
  apply(next: Config): void | Promise<void>;
}

export type ReloadOutcome =
  | { kind: 'applied'; applied: string[]; restartNeeded: string[]; failed: string[] }
  | { kind: 'refused'; error: string };

export class Reloader {
  #file: string | undefined;
  #log: Logger;
  #parts: ReloadablePart[] = [];
  /** Key path -> value (JSON) in effect. */
  #running: Map<string, string>;
  #tail: Promise<unknown> = Promise.resolve();

  /** `file` is the --config file; without one, only TSP_ variables can change. */
  constructor(running: Config, file: string | undefined, log: Logger) {
    this.#running = flatten(running);
    this.#file = file;
    this.#log = log;
  }

  register(part: ReloadablePart): void {
    this.#parts.push(part);
  }

  /** Reloads once; reloads asked for during one run after it, in turn. */
  reload(): Promise<ReloadOutcome> {
    const work = this.#tail.then(() => this.#reload());
    this.#tail = work.catch(() => undefined);
    return work;
  }

  async #reload(): Promise<ReloadOutcome> {
    let next: Config;
    try {
      next = await loadConfig(this.#file ? { file: this.#file } : {});
    } catch (err) {
      const error = err instanceof ConfigError ? err.message : String(err);
      this.#log.error({ file: this.#file, error }, 'reload refused: the configuration does not validate; nothing changed');
      return { kind: 'refused', error };
    }
    const incoming = flatten(next);
    const changed = [...new Set([...this.#running.keys(), ...incoming.keys()])]
      .filter((key) => this.#running.get(key) !== incoming.get(key))
      .sort();
    const owner = (key: string): ReloadablePart | undefined => this.#parts.find((p) => p.keys.some((k) => key === k || key.startsWith(`${k}.`)));
    const owned = changed.filter((key) => owner(key) !== undefined);
    const restartNeeded = changed.filter((key) => owner(key) === undefined);
    const parts = new Set([...owned.map((key) => owner(key)!), ...this.#parts.filter((p) => p.everyReload)]);
    const applied: string[] = [];
    const failed: string[] = [];
    for (const part of parts) {
      try {
        await part.apply(next);
      } catch (err) {
        failed.push(part.name);
        this.#log.error({ err, part: part.name }, `reload: the ${part.name} could not be applied; the running one stays`);
        continue;
      }
      for (const key of owned.filter((k) => owner(k) === part)) {
        applied.push(key);
        const value = incoming.get(key);
        if (value === undefined) this.#running.delete(key);
        else this.#running.set(key, value);
      }
    }
    applied.sort();
    this.#log.info(
      { file: this.#file, applied, restartNeeded, failed, parts: [...parts].map((p) => p.name) },
      restartNeeded.length > 0
        ? `configuration reloaded; these changes need a restart to take effect: ${restartNeeded.join(', ')}`
        : `configuration reloaded (${applied.length} change(s) applied)`,
    );
    return { kind: 'applied', applied, restartNeeded, failed };
  }
}

/** A host matcher whose allow-list a reload can replace, for the codec and the poster. */
export class ReloadableHostMatcher {
  #matches: (url: string) => boolean;

  constructor(allowedHosts: readonly string[]) {
    this.#matches = compileAllowedHosts(allowedHosts);
  }

  readonly matches = (url: string): boolean => this.#matches(url);

  set(allowedHosts: readonly string[]): void {
    this.#matches = compileAllowedHosts(allowedHosts);
  }
}

/** Leaf key paths -> JSON values; arrays are leaves (an allow-list changes as a whole). */
function flatten(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, into);
  } else if (value !== undefined) {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}

/**
 * The WebEx listener's certificate, key and client CA as files: `reload` re-reads them (SIGHUP);
 * new connections use them, live ones keep theirs. A file that cannot be read or used leaves the
 * old ones in place and throws.
 */
export class ListenerCertificates {
  #listener: Pick<WebexListener, 'reloadTls'>;
  #files: Config['webex']['tls'];
  #dataDir: string;
  #log: Logger;

  constructor(listener: Pick<WebexListener, 'reloadTls'>, files: Config['webex']['tls'], dataDir: string, log: Logger) {
    this.#listener = listener;
    this.#files = files;
    this.#dataDir = dataDir;
    this.#log = log;
  }

  async reload(files: Config['webex']['tls'] = this.#files): Promise<void> {
    const { source, tls } = await loadListenerTls(files, this.#dataDir);
    this.#listener.reloadTls(tls);
    this.#files = files;
    this.#log.info({ certificate: { origin: source.origin, file: source.certFile } }, 'WebEx TLS certificates reloaded');
  }
}

export interface RuntimeDeps {
  root: RootLogger;
  allowedHosts: ReloadableHostMatcher;
  /** The object the engines read their options from: changed in place. */
  options: EngineOptions;
  /** Undefined until the WebEx listener is up. */
  certificates: () => ListenerCertificates | undefined;
}

/** What a SIGHUP may change in a running instance, single or cluster member alike. */
export function runtimeParts(deps: RuntimeDeps): ReloadablePart[] {
  const { options, root } = deps;
  return [
    { name: 'log level', keys: ['log.level'], apply: (next) => root.setLevel(next.log.level) },
    {
      name: 'WebEx allow-list',
      keys: ['webex.allowedHosts'],
      apply: (next) => {
        deps.allowedHosts.set(next.webex.allowedHosts);
        options.webex.allowedHosts = [...next.webex.allowedHosts];
      },
    },
    {
      name: 'dial-out policy',
      keys: ['dialOut'],
      apply: (next) => Object.assign(options.dialOut, {
        ...next.dialOut, allowedPrefixes: [...next.dialOut.allowedPrefixes], blockedPrefixes: [...next.dialOut.blockedPrefixes],
      }),
    },
    {
      name: 'WebEx certificates',
      keys: ['webex.tls.certFile', 'webex.tls.keyFile', 'webex.tls.clientCaFile'],
      // A renewed certificate is usually written over the same files.
      everyReload: true,
      apply: (next) => {
        deps.certificates()?.reload(next.webex.tls).catch((err: unknown) => {
          root.logger.error({ err }, 'WebEx certificates not reloaded; the previous ones stay in use');
        });
      },
    },
  ];
}
