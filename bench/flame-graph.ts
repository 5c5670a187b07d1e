/**
 * A flame graph of a V8 CPU profile (`node --cpu-prof`), as one self-contained SVG: every
 * stack the profile sampled, identical stacks merged (same frames from the root down), each
 * frame a rectangle as wide as the time sampled in it and below it, the root at the bottom;
 * hovering a frame shows its name, time and share in its title. Idle time is left out: the
 * full width is the time the process was busy. Read by `bench/cpu-profile.ts --svg`.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

/** One frame of the merged call tree: its time includes its callees'. */
export interface FlameFrame {
  name: string;
  /** The source of the frame's function, to colour it by kind. */
  url: string;
  totalUs: number;
  children: FlameFrame[];
}

/** The loop's own states: idle is not busy time; the others are and stay in the graph. */
const IDLE = '(idle)';
const WIDTH_PX = 1_200;
const ROW_PX = 17;
const MARGIN_PX = 10;
const TITLE_PX = 24;
const FONT_PX = 11;
/** About the advance of one character of the font at FONT_PX, to cut labels to their frame. */
const CHAR_PX = 6.4;
/** Frames narrower than this are not drawn: they cannot be seen or hovered. */
const MIN_FRAME_PX = 0.3;

/** `name path:line` with the path cut to what tells files apart: from build/, src/ or node_modules/. */
export function frameLabel(frame: ProfileNode['callFrame']): string {
  const url = frame.url.replace(/^.*?\/(build|node_modules|src)\//, '$1/').replace(/^file:\/\//, '');
  const name = frame.functionName || '(anonymous)';
  return url ? `${name} ${url}:${frame.lineNumber + 1}` : name;
}

/**
 * The time of each sample, in microseconds: from its own timestamp to the next sample's (the
 * last one to the end of the profile); without timeDeltas, the mean interval for each.
 */
export function sampleDurationsUs(profile: CpuProfile): number[] {
  const { samples, timeDeltas, startTime, endTime } = profile;
  if (!timeDeltas || timeDeltas.length !== samples.length) return samples.map(() => (endTime - startTime) / Math.max(1, samples.length));
  const times: number[] = [];
  let at = startTime;
  for (const delta of timeDeltas) times.push((at += delta));
  return times.map((t, i) => Math.max(0, (times[i + 1] ?? Math.max(endTime, t)) - t));
}

/** The call tree with identical stacks merged, weighted by sample time, idle left out. */
export function flameTree(profile: CpuProfile): FlameFrame {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const weights = new Map<number, number>();
  sampleDurationsUs(profile).forEach((us, i) => {
    const id = profile.samples[i]!;
    weights.set(id, (weights.get(id) ?? 0) + us);
  });
  const root: FlameFrame = { name: 'all busy time', url: '', totalUs: 0, children: [] };
  for (const [id, us] of weights) {
    const stack: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!);
    stack.reverse();
    // V8's own root frame is every stack's first; the graph's root stands for it.
    if (stack[0]?.callFrame.functionName === '(root)') stack.shift();
    if (stack.length === 0 || stack[stack.length - 1]!.callFrame.functionName === IDLE) continue;
    root.totalUs += us;
    let frame = root;
    for (const node of stack) {
      const name = frameLabel(node.callFrame);
      let child = frame.children.find((c) => c.name === name);
      if (!child) {
        child = { name, url: node.callFrame.url, totalUs: 0, children: [] };
        frame.children.push(child);
      }
      child.totalUs += us;
      frame = child;
    }
  }
  sortTree(root);
  return root;
}

/** Widest first, so the heavy paths sit together on the left. */
function sortTree(frame: FlameFrame): void {
  frame.children.sort((a, b) => b.totalUs - a.totalUs || a.name.localeCompare(b.name));
  for (const child of frame.children) sortTree(child);
}

function depth(frame: FlameFrame): number {
  return 1 + Math.max(0, ...frame.children.map(depth));
}

/** Warm for the project's own code, green for dependencies, blue for node's, grey for V8's states. */
function colour(frame: FlameFrame): string {
  let hash = 0;
  for (const ch of frame.name) hash = (hash * 33 + ch.charCodeAt(0)) % 997;
  const vary = hash % 40;
  if (!frame.url) return `rgb(${170 + (vary % 20)},${170 + (vary % 20)},${170 + (vary % 20)})`;
  if (frame.url.includes('/node_modules/')) return `rgb(${90 + vary},${180 + (vary % 30)},${90 + vary})`;
  if (frame.url.startsWith('node:')) return `rgb(${100 + vary},${150 + vary},${220})`;
  return `rgb(${225 + (vary % 30)},${100 + vary * 2},${40 + vary})`;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The SVG document: `title` heads it (the profile's name, say). */
export function flameGraphSvg(profile: CpuProfile, title: string): string {
  const root = flameTree(profile);
  const rows = depth(root);
  const height = TITLE_PX + rows * ROW_PX + MARGIN_PX * 2;
  const innerPx = WIDTH_PX - MARGIN_PX * 2;
  const pxPerUs = root.totalUs > 0 ? innerPx / root.totalUs : 0;
  const parts: string[] = [];
  const draw = (frame: FlameFrame, level: number, x: number): void => {
    const width = frame.totalUs * pxPerUs;
    if (width < MIN_FRAME_PX) return;
    const y = height - MARGIN_PX - (level + 1) * ROW_PX;
    const share = root.totalUs > 0 ? (100 * frame.totalUs) / root.totalUs : 0;
    const hover = `${frame.name} (${(frame.totalUs / 1_000).toFixed(1)} ms, ${share.toFixed(2)}%)`;
    const chars = Math.floor((width - 4) / CHAR_PX);
    const text = chars >= 3 ? (frame.name.length <= chars ? frame.name : `${frame.name.slice(0, chars - 2)}..`) : '';
    parts.push(
      `<g><title>${escapeXml(hover)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${ROW_PX - 1}" fill="${colour(frame)}" rx="2"/>` +
        (text ? `<text x="${(x + 3).toFixed(2)}" y="${y + ROW_PX - 5}">${escapeXml(text)}</text>` : '') +
        '</g>',
    );
    let childX = x;
    for (const child of frame.children) {
      draw(child, level + 1, childX);
      childX += child.totalUs * pxPerUs;
    }
  };
  draw(root, 0, MARGIN_PX);
  const heading = `${title}: ${(root.totalUs / 1e6).toFixed(2)} s busy of ${((profile.endTime - profile.startTime) / 1e6).toFixed(2)} s sampled; width = sampled time, hover a frame for its figures`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH_PX}" height="${height}" viewBox="0 0 ${WIDTH_PX} ${height}" font-family="monospace" font-size="${FONT_PX}">\n` +
    `<rect width="100%" height="100%" fill="#fdfdf8"/>\n` +
    `<text x="${MARGIN_PX}" y="${MARGIN_PX + FONT_PX + 2}" font-size="${FONT_PX + 2}">${escapeXml(heading)}</text>\n` +
    `${parts.join('\n')}\n</svg>\n`
  );
}
