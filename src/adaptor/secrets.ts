/**
 * Secrets (TLS private keys, bridge passwords, admin tokens) read from files named by the
 * configuration (`keyFile`, `passwordFile`, `tokenFile`). A file that its group or others may
 * read is refused at start-up: a key anyone on the machine can copy is no longer a secret, and
 * the error says which file and which chmod fixes it. Values are never logged; the logger's
 * redaction (log.ts) censors the keys that carry them.
 */
import { readFile, stat } from 'node:fs/promises';

/** Permission bits for group and others. */
const GROUP_OR_OTHERS = 0o077;

/** Thrown when a secret file is readable beyond its owner: start-up stops with this message. */
export class SecretFileModeError extends Error {
  constructor(key: string, file: string, mode: number) {
    super(
      `${key}: ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); ` +
        `run: chmod 600 ${file}`,
    );
    this.name = 'SecretFileModeError';
  }
}

/** The file's text, after checking only its owner can read it; `key` names the config key. */
export async function readSecretFile(file: string, key: string): Promise<string> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(file)).mode;
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${key}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  if ((mode & GROUP_OR_OTHERS) !== 0) throw new SecretFileModeError(key, file, mode);
  return text;
}

/** A password or token file holds one line; its trailing newline is not part of the secret. */
export async function readSecretLine(file: string, key: string): Promise<string> {
  const text = (await readSecretFile(file, key)).replace(/\r?\n$/, '');
  if (text.length === 0) throw new Error(`${key}: ${file} is empty; write the secret on one line`);
  return text;
}
