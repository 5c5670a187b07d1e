// The console's entry point: feed -> model -> screen, redrawn at most once per frame and once a
// second for the ages. The selection (a conference, or one caller in it) picks the timeline.

import { Feed } from './feed.js';
import { Model } from './model.js';
import { age, bridgeRows, clusterBridgeRows, clusterSummary, conferenceBlocks, isSame, peerRows, timelineItems } from './render.js';

const model = new Model();
let selection = null;
let feedStatus = { state: 'connecting' };
let drawPending = false;

const $ = (id) => document.getElementById(id);

function select(next) {
  selection = next;
  feed.requestTimeline(next.extConfID);
  draw();
}

function draw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    render();
  });
}

function render() {
  const now = Date.now();
  const conferences = model.sortedConferences();
  // Keep the selected caller's row current (it changes as the feed speaks).
  if (selection?.caller) {
    const conf = conferences.find((c) => c.extConfID === selection.extConfID);
    const current = conf?.callers.find((c) => isSame(selection.caller, c));
    if (current) selection = { ...selection, caller: current };
  }
  renderCluster(now);
  $('bridges').tBodies[0].replaceChildren(...bridgeRows(model.bridges.values(), now));
  $('conferences').replaceChildren(...conferenceBlocks(conferences, selection, select, $('filter').value.trim(), now));
  renderTotals(conferences);
  renderFeedStatus(now);
  renderTimeline();
}

function renderCluster(now) {
  const { cluster } = model;
  $('cluster-panel').hidden = !cluster;
  if (!cluster) return;
  $('cluster-panel').dataset.role = cluster.role;
  $('cluster-summary').replaceChildren(...clusterSummary(cluster));
  $('cluster-bridges').tBodies[0].replaceChildren(...clusterBridgeRows(cluster.bridges ?? []));
  $('cluster-peers').tBodies[0].replaceChildren(...peerRows(cluster.peers ?? [], cluster.instance, now));
}

function renderTotals(conferences) {
  const open = conferences.filter((c) => c.status !== 'ended');
  const callers = open.flatMap((c) => c.callers);
  const joined = callers.filter((c) => c.phase === 'joined');
  const up = [...model.bridges.values()].filter((b) => b.link.state === 'up').length;
  const parts = [
    [open.length, 'conferences'], [joined.length, 'callers'], [joined.filter((c) => c.muted).length, 'muted'],
    [callers.length - joined.length, 'dialling'], [`${up}/${model.bridges.size}`, 'bridges up'],
  ];
  $('totals').replaceChildren(...parts.map(([n, label]) => {
    const el = document.createElement('span');
    const b = document.createElement('b');
    b.textContent = String(n);
    el.append(b, ` ${label}`);
    return el;
  }));
  $('totals').dataset.bridgesDown = String(model.bridges.size - up);
}

function renderFeedStatus(now) {
  const el = $('feed-status');
  el.dataset.state = feedStatus.state;
  const text = feedStatus.state === 'live'
    ? `LIVE · last update ${model.lastMessageAt ? `${age(model.lastMessageAt, now)} ago` : '—'}`
    : feedStatus.state === 'down'
      ? `FEED DOWN (${feedStatus.detail}) · retry in ${Math.max(0, Math.ceil((feedStatus.retryAt - now) / 1000))} s · data may be stale`
      : 'CONNECTING…';
  el.querySelector('.text').textContent = text;
}

function renderTimeline() {
  const title = $('timeline-title');
  if (!selection) {
    title.textContent = 'click a caller or a conference';
    $('timeline').replaceChildren();
    return;
  }
  const c = selection.caller;
  title.textContent = c
    ? `${c.name ?? c.extCallID ?? c.legId ?? ''} · ${selection.extConfID}`
    : `conference ${selection.extConfID} (all)`;
  const entries = model.timelines.get(selection.extConfID);
  if (!entries) {
    $('timeline').replaceChildren(Object.assign(document.createElement('li'), { className: 'empty', textContent: 'Loading…' }));
    return;
  }
  $('timeline').replaceChildren(...timelineItems(entries, c));
}

const feed = new Feed(
  (msg) => {
    if (msg.type === 'snapshot' && selection) feed.requestTimeline(selection.extConfID);
    if (model.apply(msg)) draw();
  },
  (status) => {
    feedStatus = status;
    draw();
  },
);
$('filter').addEventListener('input', draw);
setInterval(draw, 1000);
feed.connect();
