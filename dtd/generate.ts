/**
 * Writes dtd/wbxtsp.dtd from the catalogue: `node --import tsx dtd/generate.ts`.
 * A test regenerates the text and fails if the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { generateDtd } from '../src/protocol/dtd.js';

writeFileSync(new URL('./wbxtsp.dtd', import.meta.url), generateDtd());
