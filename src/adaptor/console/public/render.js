// Drawing: pure functions from the model to DOM nodes. Everything from the feed goes in as
// text (textContent), never as markup. Every status has words as well as a colour.

import { isAbout } from './model.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    // Through the CSSOM: the page's policy refuses style attributes.
    else if (key === 'style') Object.assign(el.style, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const badge = (kind, text, title) => h('span', { class: `badge ${kind}`, title }, text);

export function clock(ms, withMs = false) {
  const d = new Date(ms);
  const t = d.toLocaleTimeString('en-GB', { hour12: false });
  return withMs ? `${t}.${String(d.getMilliseconds()).padStart(3, '0')}` : t;
}

export function age(ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

// --- bridges ---------------------------------------------------------------------------------

function linkBadge(link, now) {
  switch (link.state) {
    case 'up': return [badge('ok', 'UP'), h('span', { class: 'detail' }, ` since ${clock(link.since)}`)];
    case 'down': return [badge('bad', 'DOWN'), h('span', { class: 'detail' }, ` ${link.error}; retry in ${Math.ceil(link.retryInMs / 1000)} s`)];
    case 'stale': return [badge('warn', 'STALE'), h('span', { class: 'detail' }, ` ${link.missed} heartbeats missed`)];
    case 'connecting': return [badge('warn', 'CONNECTING'), h('span', { class: 'detail' }, ` attempt ${link.attempt}`)];
    default: return [badge('off', link.state.toUpperCase())];
  }
}

function portsCell(ports, promised) {
  if (!ports) return h('td', {}, h('span', { class: 'detail' }, 'not reported yet'));
  const { total, inUse, reserved } = ports;
  const pct = (n) => `${total > 0 ? (100 * n) / total : 0}%`;
  return h('td', {}, h('div', { class: 'ports' },
    h('div', { class: 'bar', role: 'img', 'aria-label': `${inUse} in use, ${reserved} reserved, ${promised} promised of ${total}` },
      h('span', { class: 'seg use', style: { width: pct(inUse) } }),
      h('span', { class: 'seg res', style: { width: pct(reserved) } }),
      h('span', { class: 'seg prom', style: { width: pct(Math.min(promised, Math.max(0, total - inUse - reserved))) } })),
    h('span', { class: 'figures' }, h('b', {}, inUse), ' / ', reserved, ' / ', total)));
}

export function bridgeRows(bridges, now) {
  return [...bridges].sort((a, b) => a.id.localeCompare(b.id)).map((b) => {
    const free = b.ports ? b.ports.total - b.ports.inUse - b.ports.reserved : undefined;
    const headroom = free === undefined ? '' : free <= 0 ? 'bad' : free - b.promisedPorts <= Math.max(1, b.ports.total * 0.1) ? 'warn' : '';
    const hbAge = b.lastHeartbeatAt > 0 ? now - b.lastHeartbeatAt : undefined;
    return h('tr', { 'data-bridge': b.id, 'data-link': b.link.state },
      h('td', {}, h('b', {}, b.id), h('div', { class: 'detail' }, b.model)),
      h('td', { class: 'link' }, linkBadge(b.link, now)),
      portsCell(b.ports, b.promisedPorts),
      h('td', { class: `num ${headroom}` }, free === undefined ? '–' : [free, headroom === 'bad' ? ' FULL' : headroom === 'warn' ? ' LOW' : '']),
      h('td', { class: 'num' }, b.promisedPorts),
      h('td', { class: `num ${hbAge !== undefined && hbAge > 30_000 ? 'warn' : ''}` }, hbAge === undefined ? '–' : `${age(b.lastHeartbeatAt, now)} ago`));
  });
}

// --- cluster ---------------------------------------------------------------------------------

const ROLE_KIND = { owner: 'ok', standby: 'info', 'taking-over': 'warn', 'handing-over': 'warn', draining: 'warn', active: 'ok', closed: 'off' };
const roleBadge = (role) => badge(ROLE_KIND[role] ?? 'off', String(role).toUpperCase());

/** This instance in one line: its id and role, Redis, and what its intake did. */
export function clusterSummary(c) {
  const { accepted = 0, repeats = 0, refused = 0 } = c.intake ?? {};
  return [
    h('b', {}, c.instance), ' ', roleBadge(c.role), ' ',
    c.redis === 'ready' ? badge('ok', 'REDIS READY') : badge('bad', `REDIS ${String(c.redis).toUpperCase()}`, 'WebEx gets Confirmation 7 until Redis answers'),
    h('span', { class: 'detail' }, ` intake ${accepted} accepted · ${repeats} repeats · `),
    h('span', { class: refused > 0 ? 'warn-text' : 'detail' }, `${refused} refused (7)`),
  ];
}

/** One row per bridge: this instance's role for it, the lease, and the fail-over counters. */
export function clusterBridgeRows(bridges) {
  return [...bridges].sort((a, b) => a.bridge.localeCompare(b.bridge)).map((b) =>
    h('tr', { 'data-bridge': b.bridge, 'data-role': b.role },
      h('td', {}, h('b', {}, b.bridge)),
      h('td', {}, roleBadge(b.role)),
      h('td', { class: 'mono' }, b.lease ?? h('span', { class: 'detail' }, 'nobody holds it')),
      h('td', { class: 'num take-overs' }, b.takeOvers),
      h('td', { class: `num lease-losses ${b.leaseLosses > 0 ? 'warn' : ''}` }, b.leaseLosses),
      h('td', { class: `num fencing ${b.fencingRefusals > 0 ? 'warn' : ''}` }, b.fencingRefusals),
      h('td', { class: 'num' }, b.lastTakeOverMs === undefined ? '–' : `${b.lastTakeOverMs} ms`)));
}

/** Every instance heard from (this one included), what it owns and how fresh its heartbeat is. */
export function peerRows(peers, self, now) {
  return [...peers].sort((a, b) => a.id.localeCompare(b.id)).map((p) => {
    const owned = Object.entries(p.bridges ?? {}).map(([id, b]) => `${id}${b.role === 'owner' ? '' : ` (${b.role})`}`);
    return h('tr', { 'data-peer': p.id, 'data-silent': String(Boolean(p.silent)) },
      h('td', {}, h('b', {}, p.id), p.id === self ? h('span', { class: 'detail' }, ' (this instance)') : ''),
      h('td', {}, p.silent ? badge('bad', 'SILENT', 'no heartbeat for several ticks: stopped, partitioned or paused') : roleBadge(p.role)),
      h('td', { class: 'mono' }, owned.length > 0 ? owned.join(', ') : h('span', { class: 'detail' }, 'none')),
      h('td', { class: `num ${p.silent ? 'bad' : ''}` }, `${age(p.at, now)} ago`));
  });
}

// --- conferences -----------------------------------------------------------------------------

const STATUS = { creating: 'warn', running: 'ok', locked: 'info', ended: 'off' };

function callerState(c, now) {
  if (c.phase === 'dialing') {
    return c.state === 'ringing'
      ? [badge('warn ring', 'RINGING'), h('span', { class: 'detail' }, ` dial-out, ${age(c.startedAt, now)}`)]
      : [badge('info', 'ANSWERED'), h('span', { class: 'detail' }, ' joining')];
  }
  if (c.extCallID === undefined) return [badge('warn', 'JOINED'), h('span', { class: 'detail' }, ' waiting for WebEx to name it')];
  return [badge('ok', 'JOINED'), c.dialOutId ? h('span', { class: 'detail' }, ' via dial-out') : ''];
}

function muteCell(c) {
  if (c.phase !== 'joined') return h('td', { class: 'mute' }, '–');
  return c.muted
    ? h('td', { class: 'mute' }, badge('mute', 'MUTED'), ` by ${c.mutedBy}`)
    : h('td', { class: 'mute' }, h('span', { class: 'open' }, 'open'), c.mutedBy === 'Bridge' ? '' : h('span', { class: 'detail' }, ` (${c.mutedBy})`));
}

function callerRow(conf, c, selected, onSelect, now) {
  const label = c.name ?? (c.phase === 'joined' ? c.callerId : c.number) ?? '(no name)';
  const number = c.phase === 'joined' ? (c.name ? c.callerId : c.dialledNumber && `dialled ${c.dialledNumber}`) : (c.name ? c.number : undefined);
  const select = () => onSelect({ extConfID: conf.extConfID, caller: c });
  return h('tr', {
    class: `caller${selected ? ' selected' : ''}${c.phase === 'joined' && c.speaking ? ' speaking' : ''}`,
    tabindex: 0, 'data-ext-call-id': c.extCallID ?? '', 'data-leg': c.phase === 'joined' ? c.legId : '', 'data-muted': c.phase === 'joined' ? String(c.muted) : '',
    'aria-selected': String(selected), onclick: select, onkeydown: (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); select(); } },
  },
  h('td', { class: 'who' }, h('b', {}, label), number ? h('div', { class: 'detail' }, number) : ''),
  h('td', { class: 'mono' }, c.extCallID ?? '—'),
  h('td', { class: 'mono' }, c.phase === 'joined' ? c.port : '—'),
  h('td', { class: 'state' }, callerState(c, now)),
  muteCell(c),
  h('td', { class: 'speak' }, c.phase === 'joined' && c.speaking ? badge('speak', '◉ SPEAKING') : h('span', { class: 'detail' }, '–')),
  h('td', { class: 'sub' }, c.phase === 'joined' ? (c.subConfId === 0 ? h('span', { class: 'detail' }, 'main') : badge('info', `SUB ${c.subConfId}`)) : '–'));
}

function matches(conf, filter) {
  if (!filter) return true;
  const hay = [conf.extConfID, conf.confKey, conf.bridgeId, conf.bridgeConfId,
    ...conf.callers.flatMap((c) => [c.name, c.extCallID, c.callerId, c.number, c.dialledNumber, c.port])].filter(Boolean).join(' ').toLowerCase();
  return hay.includes(filter.toLowerCase());
}

export function conferenceBlocks(conferences, selection, onSelect, filter, now) {
  const shown = conferences.filter((c) => matches(c, filter));
  if (shown.length === 0) return [h('p', { class: 'empty' }, filter ? 'No conference matches the filter.' : 'No conferences.')];
  return shown.map((conf) => {
    const joined = conf.callers.filter((c) => c.phase === 'joined');
    const dialling = conf.callers.length - joined.length;
    const muted = joined.filter((c) => c.muted).length;
    const isSel = selection?.extConfID === conf.extConfID;
    const selectConf = () => onSelect({ extConfID: conf.extConfID, caller: null });
    return h('article', { class: `conf ${conf.status}${isSel && !selection.caller ? ' selected' : ''}`, 'data-ext-conf-id': conf.extConfID, 'data-status': conf.status },
      h('header', { tabindex: 0, onclick: selectConf, onkeydown: (ev) => { if (ev.key === 'Enter') selectConf(); } },
        h('span', { class: 'ext mono' }, conf.extConfID),
        badge(STATUS[conf.status] ?? 'off', conf.status.toUpperCase()),
        h('span', { class: 'kv' }, 'ConfKey ', h('b', { class: 'mono' }, conf.confKey)),
        h('span', { class: 'kv' }, 'bridge ', h('b', {}, conf.bridgeId), conf.bridgeConfId ? h('span', { class: 'detail mono' }, ` #${conf.bridgeConfId}`) : ''),
        h('span', { class: 'kv' }, h('b', {}, joined.length), ' on', dialling ? [' · ', h('b', {}, dialling), ' dialling'] : '', muted ? [' · ', h('b', {}, muted), ' muted'] : ''),
        conf.muteAll?.muted ? badge('mute', conf.muteAll.applyToNewCallers ? 'MUTE-ALL + NEW' : 'MUTE-ALL') : '',
        h('span', { class: 'kv end' }, conf.status === 'ended' ? `ended ${clock(conf.endedAt)}` : `active ${age(conf.lastActivityAt, now)} ago`)),
      conf.callers.length === 0
        ? h('p', { class: 'empty small' }, conf.status === 'ended' ? 'Ended.' : 'No callers yet.')
        : h('table', { class: 'callers' },
          h('thead', {}, h('tr', {}, ['Caller', 'ExtCallID', 'Port', 'State', 'Audio', 'Speaking', 'Sub-conf'].map((t) => h('th', {}, t)))),
          h('tbody', {}, conf.callers.map((c) => callerRow(conf, c, isSel && selection.caller !== null && isSame(selection.caller, c), onSelect, now)))));
  });
}

export function isSame(a, b) {
  return (a.phase === 'joined' && b.phase === 'joined' && a.legId === b.legId)
    || (a.dialOutId !== undefined && a.dialOutId === b.dialOutId)
    || (a.extCallID !== undefined && a.extCallID === b.extCallID);
}

// --- timeline --------------------------------------------------------------------------------

function describe(step) {
  switch (step.kind) {
    case 'w2a':
      return ['webex', 'WEBEX →', `${step.msgType} received`, `TransID ${step.transId} · MsgID ${step.msgId}`];
    case 'bridge-command': {
      const what = `${step.op}${step.port ? ` port ${step.port}` : ''}`;
      if (step.phase === 'sent') return ['bridge', '→ BRIDGE', `${what} sent`, step.bridgeId];
      if (step.phase === 'done') return ['bridge', '→ BRIDGE', `${what} done in ${step.tookMs} ms`, step.bridgeId];
      return ['bad', '→ BRIDGE', `${what} FAILED ${step.code ?? ''} after ${step.tookMs} ms`, step.bridgeId];
    }
    case 'bridge-event':
      return ['event', 'BRIDGE →', `${step.eventType}${step.detail ? `: ${step.detail}` : ''}`, `${step.bridgeId}${step.port ? ` · port ${step.port}` : ''}`];
    case 'a2w': {
      const kind = step.phase === 'dead-letter' ? 'bad' : step.phase === 'retry' ? 'warn' : 'notify';
      return [kind, '→ WEBEX', `${step.msgType} ${step.phase === 'dead-letter' ? 'DEAD-LETTERED' : step.phase}`, `MsgID ${step.msgId}`];
    }
    case 'change':
      return ['state', 'STATE', changeText(step.change), ''];
    default:
      return ['state', '?', step.kind, ''];
  }
}

function changeText(c) {
  switch (c.kind) {
    case 'created': return 'conference created';
    case 'status': return `conference ${c.was} → ${c.status}`;
    case 'callerJoined': return 'caller joined';
    case 'callerLeft': return 'caller left';
    case 'callerNamed': return `named by WebEx: ${c.caller.extCallID}`;
    case 'mute': return c.muted ? `muted by ${c.by}` : `unmuted by ${c.by}`;
    case 'speaking': return c.speaking ? 'started speaking' : 'stopped speaking';
    case 'subConference': return c.subConfId === 0 ? 'back to the main conference' : `moved to sub-conference ${c.subConfId}`;
    case 'dialOut': return `dial-out ${c.state}`;
    default: return c.kind;
  }
}

export function timelineItems(entries, caller) {
  const shown = caller ? entries.filter((e) => isAbout(e, caller)) : entries;
  if (shown.length === 0) return [h('li', { class: 'empty' }, 'Nothing recorded yet.')];
  return shown.slice().reverse().map((e) => {
    const [kind, tag, text, ids] = describe(e.step);
    return h('li', { class: `t ${kind}`, 'data-kind': e.step.kind },
      h('time', {}, clock(e.step.at, true)),
      h('span', { class: 'tag' }, tag),
      h('span', { class: 'what' }, text, ids ? h('div', { class: 'detail mono' }, ids) : ''));
  });
}
