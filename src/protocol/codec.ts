/**
 * createCodec: compiles the DTD and the lookup tables once; decode/encode then only look up.
 */
import type { CodecOptions, TspCodec } from './api.js';

export async function createCodec(_options: CodecOptions = {}): Promise<TspCodec> {
  throw new Error('createCodec: not implemented yet');
}
