/**
 * `node --import tsx bench/poster.ts [--baseline FILE.ts] [--rounds N] [--posts N] [--in-flight N]`:
 * the client CPU of one A2W post through `HttpPoster`, over kept-alive loopback TLS to a server
 * in a child process (so its CPU is not counted), the way the outbox posts: a ~400-byte body, a
 * few posts in flight sharing one abort signal. With --baseline, another module exporting an
 * `HttpPoster` of the same shape (an older version, say) runs in alternating rounds against the
 * same server, and both medians are printed: a paired comparison on a busy machine.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { HttpPoster } from '../src/adaptor/poster.js';
import { generateSelfSigned } from '../src/adaptor/tls.js';

type Poster = Pick<HttpPoster, 'post' | 'close'>;
type PosterClass = new (options: ConstructorParameters<typeof HttpPoster>[0]) => Poster;

const CONFIRMATION = '<?xml version="1.0" encoding="UTF-8"?><WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>x</TransID><Confirmation><Result>0</Result></Confirmation></WbxTSPSchema>';
const PAYLOAD = `<?xml version="1.0" encoding="UTF-8"?><WbxTSPSchema Name="WTSPDOM" Version="1.0"><TransID>a2w-1</TransID><A2W_RspMuteUser MsgID="1" ExtConfID="5512" ExtCallID="c-1"><Result>0</Result>${' '.repeat(220)}</A2W_RspMuteUser></WbxTSPSchema>`;
const WARM_UP_POSTS = 500;
const POST_TIMEOUT_MS = 10_000;

if (process.argv.includes('--serve')) await serve();
else await compare();

/** The child: a bare HTTPS server that answers every post with a fixed Confirmation. */
async function serve(): Promise<void> {
  const server = https.createServer(await generateSelfSigned('bench-poster'), (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end(CONFIRMATION));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  process.send?.((server.address() as AddressInfo).port);
  process.on('disconnect', () => process.exit(0));
}

async function compare(): Promise<void> {
  const { values } = parseArgs({
    options: {
      baseline: { type: 'string' },
      rounds: { type: 'string', default: '5' },
      posts: { type: 'string', default: '4000' },
      'in-flight': { type: 'string', default: '8' },
    },
  });
  const rounds = Number(values.rounds);
  const posts = Number(values.posts);
  const inFlight = Number(values['in-flight']);
  const server = fork(new URL(import.meta.url), ['--serve'], { execArgv: ['--import', 'tsx'] });
  try {
    const [port] = (await once(server, 'message')) as [number];
    const url = `https://127.0.0.1:${port}/a2w`;
    const candidates: [string, PosterClass][] = [['current', HttpPoster]];
    if (values.baseline) {
      const baseline = (await import(pathToFileURL(path.resolve(values.baseline)).href)) as { HttpPoster: PosterClass };
      candidates.unshift(['baseline', baseline.HttpPoster]);
    }
    const results = new Map<string, { cpuUs: number[]; perSecond: number[] }>(candidates.map(([name]) => [name, { cpuUs: [], perSecond: [] }]));
    const posters = candidates.map(([name, Class]) => {
      const poster = new Class({ isAllowed: () => true, trustLoopbackPeers: true, maxSockets: 16, keepAliveMs: 30_000 });
      return { name, poster };
    });
    for (const { poster } of posters) await run(poster, url, WARM_UP_POSTS, inFlight);
    for (let round = 0; round < rounds; round++) {
      for (const { name, poster } of posters) {
        const r = await run(poster, url, posts, inFlight);
        results.get(name)!.cpuUs.push(r.cpuUs);
        results.get(name)!.perSecond.push(r.perSecond);
        console.log(`round ${round + 1} ${name}: ${r.cpuUs.toFixed(1)} us CPU a post, ${Math.round(r.perSecond)} posts/s`);
      }
    }
    for (const [name, r] of results) {
      console.log(`median ${name}: ${median(r.cpuUs).toFixed(1)} us CPU a post, ${Math.round(median(r.perSecond))} posts/s (${rounds} rounds of ${posts} posts, ${inFlight} in flight)`);
    }
    await Promise.all(posters.map(({ poster }) => poster.close()));
  } finally {
    server.kill();
  }
}

/** `posts` posts, `inFlight` at a time, sharing one signal as the outbox's posts do. */
async function run(poster: Poster, url: string, posts: number, inFlight: number): Promise<{ cpuUs: number; perSecond: number }> {
  const { signal } = new AbortController();
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < posts) {
      started += 1;
      const answer = await poster.post(url, PAYLOAD, { timeoutMs: POST_TIMEOUT_MS, signal });
      if (answer.status !== 200) throw new Error(`bench/poster: status ${answer.status}`);
    }
  };
  const startedAt = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - startedAt) / 1_000;
  return { cpuUs: (used.user + used.system) / posts, perSecond: posts / seconds };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
