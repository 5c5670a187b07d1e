/**
 * Toll fraud: the dial-out policy cannot be talked into dialling a number it should refuse.
 * Number formats (moved commas, trunk prefixes, leading zeros, `+`, spaces, unicode digits, very
 * long or empty parts), international calls written as domestic ones, the call-back classes for
 * CallBack and CallOut alike, the limits under bursts on a fake clock through the real engine,
 * the decoder's refusal of what is not the guide's format, and a property test that checks the
 * policy against a reference model written from the rules, over generated numbers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConferenceState } from '../../src/adaptor/conference/state.js';
import { checkDialOut, type DialOutRefusal } from '../../src/adaptor/dial-policy.js';
import { withDefaults, type DialOutOptions } from '../../src/adaptor/options.js';
import { createCodec } from '../../src/protocol/index.js';
import { prng } from '../protocol/fuzz-corpus.js';
import { document } from '../protocol/fixtures.js';
import { startEngine, w2a } from '../adaptor/support/harness.js';

const POLICY: DialOutOptions = { ...withDefaults({}).dialOut, homeCountryCode: '1', blockedPrefixes: ['1,900', '44,9', '882'] };
const BOTH = { tollCallIn: true, tollFreeCallIn: true, domesticCallBack: true, intlCallBack: true };

function conference(classes = BOTH, over: Partial<ConferenceState> = {}): ConferenceState {
  return {
    confId: 'c1', confKey: '123456', extConfID: 'conf-1', formerExtConfIDs: [], wbxHostName: 'https://webex-a.test/tsp',
    bridgeId: 'b', bridgeConfId: 'bc1', status: 'running', entryTone: 'none', silentJoin: false, muteOnEntry: false,
    attendeeCount: 0, classes, muteAll: undefined, lastActivityAt: 0, recentDialOutsAt: [], callers: [], ...over,
  };
}

describe('dial-out policy: number formats', () => {
  const cases: [string, DialOutRefusal | undefined][] = [
    ['1,408,5550123', undefined],
    ['1,,4085550123', undefined],
    ['44,20,79460000', undefined],
    // A blocked prefix with the commas moved is the same dialled number.
    ['1,900,5550123', 'blocked-prefix'],
    ['1,,9005550123', 'blocked-prefix'],
    ['1,9,005550123', 'blocked-prefix'],
    ['1,90,05550123', 'blocked-prefix'],
    ['44,,9091234567', 'blocked-prefix'],
    ['88,2,12345', 'blocked-prefix'],
    // A trunk prefix in front of the area code reaches the same line.
    ['1,1,9005550123', 'blocked-prefix'],
    ['1,1900,5550123', 'blocked-prefix'],
    ['1,0,9005550123', 'blocked-prefix'],
    ['44,0,9091234567', 'blocked-prefix'],
    ['44,09,091234567', 'blocked-prefix'],
    ['44,000,9091234567', 'blocked-prefix'],
    // International calls dressed as domestic ones.
    ['1,011,442079460000', 'malformed-number'],
    ['1,,011442079460000', 'malformed-number'],
    ['1,0,11442079460000', 'malformed-number'],
    ['1,00,442079460000', 'malformed-number'],
    // Leading zeros in the CountryCode, and everything that is not the guide's format.
    ['01,900,5550123', 'malformed-number'],
    ['001,408,5550123', 'malformed-number'],
    ['0,44,2079460000', 'malformed-number'],
    ['+1,900,5550123', 'malformed-number'],
    [' 1,900,5550123', 'malformed-number'],
    ['1 ,900,5550123', 'malformed-number'],
    ['1,9 00,5550123', 'malformed-number'],
    ['\u0661,900,5550123', 'malformed-number'],
    ['1,\uff19\uff10\uff10,5550123', 'malformed-number'],
    ['1,900,555\u200b0123', 'malformed-number'],
    ['1,900,5550123,', 'malformed-number'],
    ['1,900,555,0123', 'malformed-number'],
    ['1,900', 'malformed-number'],
    [',,9005550123', 'malformed-number'],
    ['1,,', 'malformed-number'],
    ['', 'malformed-number'],
    ['12345,1,2', 'malformed-number'],
    ['1,900,5550123\n', 'malformed-number'],
    [`1,408,${'5'.repeat(10_000)}`, undefined],
    [`1,900,${'5'.repeat(10_000)}`, 'blocked-prefix'],
  ];
  for (const [number, expected] of cases) {
    it(`${JSON.stringify(number.slice(0, 40))} -> ${expected ?? 'dialled'}`, () => {
      assert.equal(checkDialOut(conference(), number, 0, POLICY), expected);
    });
  }

  it('an allow-list is matched on the dialled digits, and a trunk prefix does not widen it', () => {
    const allowOnly = { ...POLICY, allowedPrefixes: ['1,650'] };
    assert.equal(checkDialOut(conference(), '1,650,5550123', 0, allowOnly), undefined);
    assert.equal(checkDialOut(conference(), '1,,6505550123', 0, allowOnly), undefined);
    assert.equal(checkDialOut(conference(), '1,1650,5550123', 0, allowOnly), 'prefix-not-allowed');
    // CountryCode 16 does not exist: +16505550123 is the allowed US number, dialled as such.
    assert.equal(checkDialOut(conference(), '16,50,5550123', 0, allowOnly), undefined);
    assert.equal(checkDialOut(conference(), '16,51,5550123', 0, allowOnly), 'prefix-not-allowed');
  });

  it('the home country decides domestic: another home country turns the same number international', () => {
    const germany = { ...POLICY, homeCountryCode: '49' };
    const domesticOnly = { ...BOTH, intlCallBack: false };
    assert.equal(checkDialOut(conference(domesticOnly), '49,89,1234567', 0, germany), undefined);
    assert.equal(checkDialOut(conference(domesticOnly), '1,408,5550123', 0, germany), 'international-call-back-disabled');
    assert.equal(checkDialOut(conference(domesticOnly), '49,00,1408555', 0, germany), 'malformed-number');
    assert.equal(checkDialOut(conference(domesticOnly), '4,9891234567', 0, germany), 'malformed-number');
    assert.equal(checkDialOut(conference(domesticOnly), '4,98,91234567', 0, germany), 'international-call-back-disabled');
  });
});

describe('dial-out policy: call-back classes and limits in the engine', () => {
  for (const CallType of ['CallBack', 'CallOut'] as const) {
    it(`${CallType}: each class the conference did not enable answers 44 and dials nothing`, async () => {
      const h = await startEngine();
      await h.send(w2a.create('conf-d', '111111', { DomesticCallBack: false, IntlCallBack: true }));
      await h.send(w2a.create('conf-i', '222222', { DomesticCallBack: true, IntlCallBack: false }));
      await h.send(
        w2a.callout('conf-d', 'd1', '1,408,5550001', { CallType }),
        w2a.callout('conf-i', 'i1', '44,20,79460000', { CallType }),
        w2a.callout('conf-i', 'i2', '1,011,442079460000', { CallType }),
        w2a.callout('conf-d', 'd2', '1,,011442079460000', { CallType }),
      );
      // Conferences run side by side: compare without their interleaving.
      const answers = h.webex.of('A2W_RspCallout').map((m) => `${m.ExtCallID} ${m.Result}`).sort();
      assert.deepEqual(answers, ['d1 44', 'd2 44', 'i1 44', 'i2 44']);
      assert.equal(h.driver.ops('dialOut').length, 0);
    });
  }

  it('a burst of 100 callouts in one transaction dials no more than the concurrency limit', async () => {
    const h = await startEngine({ options: { dialOut: { maxConcurrentPerConference: 3, maxPerMinutePerConference: 50 } } });
    await h.send(w2a.create('conf-1', '123456'));
    await h.send(...Array.from({ length: 100 }, (_, i) => w2a.callout('conf-1', `c${i}`, `1,408,555${String(i).padStart(4, '0')}`)));
    assert.equal(h.driver.ops('dialOut').length, 3);
    assert.equal(h.webex.of('A2W_RspCallout').filter((m) => m.Result === 44).length, 97);
    assert.equal(h.engine.counters.dialOutRefusals.get('too-many-concurrent'), 97);
  });

  it('bursts across minutes: never more than the per-minute limit within any 60 s on the fake clock', async () => {
    const perMinute = 4;
    const h = await startEngine({ options: { dialOut: { maxConcurrentPerConference: 100, maxPerMinutePerConference: perMinute } } });
    await h.send(w2a.create('conf-1', '123456'));
    const dialledAt: number[] = [];
    for (let burst = 0; burst < 6; burst++) {
      const before = h.driver.ops('dialOut').length;
      await h.send(...Array.from({ length: 10 }, (_, i) => w2a.callout('conf-1', `b${burst}-${i}`, '1,408,5550001')));
      const started = h.driver.ops('dialOut').length - before;
      for (let i = 0; i < started; i++) dialledAt.push(h.clock.now());
      h.clock.advance(25_000);
      await h.settle();
    }
    for (const t of dialledAt) {
      assert.ok(dialledAt.filter((u) => u >= t && u < t + 60_000).length <= perMinute, `window from ${t}`);
    }
    assert.ok(dialledAt.length >= perMinute * 2, `the limit lets dial-outs through again after a minute: ${dialledAt.length}`);
  });
});

describe('dial-out numbers at the decoder', () => {
  it('a PhoneNumber outside the guide\'s format is refused with Confirmation 3 before the policy sees it', async () => {
    const codec = await createCodec();
    try {
      for (const number of ['+1,900,5550123', '1 ,900,5550123', '\u0661,900,5550123', '1,900', '01234,1,2', '1,900,5550123,9', `1,408,${'5'.repeat(80)}`]) {
        const body = document('W2A_Callout', `MsgID="1" ExtConfID="5512" ExtCallID="9" PhoneNumber="${number}"`);
        const result = codec.decode(body, { direction: 'W2A' });
        assert.ok(!result.ok && result.result === 3, `${number}: ${JSON.stringify(result)}`);
      }
    } finally {
      codec.close();
    }
  });
});

// --- property: the policy against a reference model --------------------------------------------

/**
 * The rules restated over the digit strings a switch may dial: the written number's digits and
 * the same with the national trunk prefix dropped. Written independently of dial-policy.ts.
 */
function reference(number: string, classes: typeof BOTH, options: DialOutOptions): DialOutRefusal | undefined {
  const parts = number.split(',');
  if (parts.length !== 3) return 'malformed-number';
  const [cc = '', area = '', local = ''] = parts;
  const ascii = (s: string) => [...s].every((c) => c >= '0' && c <= '9');
  if (!ascii(cc) || !ascii(area) || !ascii(local) || cc.length < 1 || cc.length > 4 || local.length === 0 || cc[0] === '0') {
    return 'malformed-number';
  }
  const national = area + local;
  const home = cc === options.homeCountryCode;
  const accessCodes: Record<string, string[]> = { 1: ['00', '011'], 7: ['00', '810'], 61: ['00', '0011'], 81: ['00', '010'] };
  if (home && (accessCodes[cc] ?? ['00']).some((a) => national.startsWith(a))) return 'malformed-number';
  if (home ? !classes.domesticCallBack : !classes.intlCallBack) return home ? 'domestic-call-back-disabled' : 'international-call-back-disabled';
  let trunkless = national;
  while (trunkless[0] === '0' || (cc === '1' && trunkless[0] === '1')) trunkless = trunkless.slice(1);
  const forms = [cc + national, cc + trunkless];
  const plain = (p: string) => p.split(',').join('');
  if (options.blockedPrefixes.some((p) => forms.some((f) => f.startsWith(plain(p))))) return 'blocked-prefix';
  if (options.allowedPrefixes.length && !options.allowedPrefixes.some((p) => forms[0]!.startsWith(plain(p)))) return 'prefix-not-allowed';
  return undefined;
}

const PIECES = ['', '0', '00', '01', '011', '1', '9', '90', '900', '0900', '1900', '44', '4', '49', '882', '408', '650', '7', '810', '0011', '010',
  '+', ' ', '\u0661', '\uff19', '\u200b', '-', '.', '(', '5550123', '9'.repeat(30)];

function generated(random: () => number): string {
  const piece = () => PIECES[Math.floor(random() * PIECES.length)] as string;
  const part = () => Array.from({ length: Math.floor(random() * 3) }, piece).join('');
  const commas = random() < 0.85 ? 2 : Math.floor(random() * 5);
  return Array.from({ length: commas + 1 }, part).join(',');
}

describe('dial-out policy: property', () => {
  it('20,000 generated numbers: the policy equals the reference model, and a premium number is never dialled', () => {
    const random = prng(0x70_11_f4_a0);
    const homes = ['1', '44', '49', '7', '61'];
    for (let i = 0; i < 20_000; i++) {
      const number = generated(random);
      const classes = { ...BOTH, domesticCallBack: random() < 0.7, intlCallBack: random() < 0.5 };
      const options = { ...POLICY, homeCountryCode: homes[i % homes.length] as string, allowedPrefixes: random() < 0.2 ? ['1,408', '44'] : [] };
      const decision = checkDialOut(conference(classes), number, 0, options);
      assert.equal(decision, reference(number, classes, options), `${JSON.stringify(number)} home ${options.homeCountryCode}`);
      if (decision === undefined) {
        const digits = number.replace(/[^0-9]/g, '');
        for (const premium of ['1900', '11900', '449', '4409', '882']) assert.ok(!digits.startsWith(premium), `${number} dialled`);
      }
    }
  });
});
