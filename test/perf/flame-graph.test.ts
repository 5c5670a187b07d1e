import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flameGraphSvg, flameTree, sampleDurationsUs, type CpuProfile, type ProfileNode } from '../../bench/flame-graph.js';

const frame = (id: number, functionName: string, children: number[] = [], url = 'file:///app/build/src/adaptor/engine.js'): ProfileNode => ({
  id,
  callFrame: { functionName, url, lineNumber: id },
  children,
});

/**
 * (root) -> main -> work (twice: two nodes of the same frame, as V8 leaves them when a
 * function is recompiled), main -> idleish, plus (idle) under the root. Samples, 10 us apart
 * except where said: work(3) 10, work(3) 10, other work node(5) 30, parse(4) 10, (idle)(6) 40.
 */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 6] },
    frame(2, 'main', [3, 4, 5]),
    frame(3, 'work'),
    frame(4, 'parse'),
    { ...frame(5, 'work'), callFrame: { functionName: 'work', url: 'file:///app/build/src/adaptor/engine.js', lineNumber: 3 } },
    { id: 6, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
  ],
  samples: [3, 3, 5, 4, 6],
  timeDeltas: [0, 10, 10, 30, 10],
  startTime: 1_000,
  endTime: 1_100,
};

test('each sample lasts until the next one, the last until the end of the profile', () => {
  assert.deepEqual(sampleDurationsUs(PROFILE), [10, 10, 30, 10, 40]);
});

test('identical stacks are merged and weighted by sample time; idle is left out', () => {
  const root = flameTree(PROFILE);
  assert.equal(root.totalUs, 60, 'busy time: everything but the 40 us idle');
  assert.equal(root.children.length, 1);
  const main = root.children[0]!;
  assert.match(main.name, /^main build\/src\/adaptor\/engine\.js:3$/);
  assert.equal(main.totalUs, 60);
  assert.deepEqual(
    main.children.map((c) => [c.name.split(' ')[0], c.totalUs]),
    [['work', 50], ['parse', 10]],
    'the two nodes of work are one frame of 10 + 10 + 30 us, widest first',
  );
});

test('the SVG draws each frame as wide as its share of the busy time, with its figures in its title', () => {
  const svg = flameGraphSvg(PROFILE, 'synthetic');
  assert.match(svg, /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  const frames = [...svg.matchAll(/<g><title>([^<]*)<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)].map((m) => ({
    title: m[1]!,
    x: Number(m[2]),
    y: Number(m[3]),
    width: Number(m[4]),
  }));
  assert.deepEqual(frames.map((f) => f.title.split(' ')[0]), ['all', 'main', 'work', 'parse']);
  const [all, main, work, parse] = frames;
  assert.equal(main!.width, all!.width);
  assert.ok(Math.abs(work!.width - (all!.width * 50) / 60) < 0.02, `work is 5/6 of the width (${work!.width} of ${all!.width})`);
  assert.ok(Math.abs(parse!.x - (work!.x + work!.width)) < 0.02, 'parse starts where work ends');
  assert.ok(work!.y < main!.y && main!.y < all!.y, 'callees stand above their callers');
  assert.match(work!.title, /\(0\.1 ms, 83\.33%\)$/);
  assert.doesNotMatch(svg, /\(idle\)/);
});
