/**
 * `tsp-adaptor validate FILE...`: the Confirmation Result the daemon would give each file as a
 * W2A request, one line per file: name TAB code TAB reason. Exit 0 only if every file got 0.
 *
 * It goes through createCodec + decode, the same path as the HTTP endpoint, so an operator can
 * replay a logged body and see exactly what WebEx was told.
 */
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { CONFIRMATION } from './codes.js';
import { createCodec } from './codec.js';

export async function run(args: string[]): Promise<number> {
  if (args.length === 0 || args.includes('--help') || args.includes('-h')) {
    process.stderr.write('usage: tsp-adaptor validate FILE...\n');
    return 2;
  }
  const codec = await createCodec();
  let allOk = true;
  try {
    for (const file of args) {
      let line: string;
      try {
        const decoded = codec.decode(await readFile(file), { direction: 'W2A' });
        line = decoded.ok ? `${CONFIRMATION.OK}\t` : `${decoded.result}\t${decoded.reason}`;
        allOk &&= decoded.ok;
      } catch (err) {
        // An unreadable file is not a body the daemon could have received.
        line = `${CONFIRMATION.INTERNAL}\tcannot read: ${(err as Error).message}`;
        allOk = false;
      }
      // One line per file, whatever a reason contains.
      process.stdout.write(`${file}\t${line.replace(/[\r\n]+/g, ' ')}\n`);
    }
  } finally {
    codec.close();
  }
  return allOk ? 0 : 1;
}
