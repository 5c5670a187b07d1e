/**
 * The dependency audit check (scripts/audit.mjs) reads npm's report, not its exit code: a
 * registry that refuses the advisory endpoint is "unavailable", never a pass; high and critical
 * advisories fail; low and moderate ones are listed only. The reports are npm's own shapes
 * (the 405 one as this machine's registry answers).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FINDINGS, PASS, UNAVAILABLE, classifyAudit } from '../../scripts/audit.mjs';

const report = (counts: Record<string, number>, vulnerabilities: Record<string, unknown> = {}) => JSON.stringify({
  auditReportVersion: 2, vulnerabilities,
  metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts }, dependencies: { prod: 143, total: 143 } },
});

describe('npm audit verdict', () => {
  it('a registry without the bulk advisory endpoint (405) is unavailable, not a pass', () => {
    const refused = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      method: 'POST', statusCode: 405, body: '', error: { summary: '', detail: '' },
    });
    const verdict = classifyAudit(refused);
    assert.equal(verdict.code, UNAVAILABLE);
    assert.match(verdict.summary, /audit endpoint unavailable \(405\)/);
  });

  it('an older npm error document, and output that is not JSON, are unavailable too', () => {
    assert.equal(classifyAudit(JSON.stringify({ error: { code: 'ENOAUDIT', summary: 'Your configured registry does not support audit requests.' } })).code, UNAVAILABLE);
    assert.equal(classifyAudit('npm error network request failed').code, UNAVAILABLE);
    assert.equal(classifyAudit('').code, UNAVAILABLE);
  });

  it('a clean report passes; low and moderate advisories are listed and pass', () => {
    assert.equal(classifyAudit(report({})).code, PASS);
    const moderate = classifyAudit(report({ moderate: 1, total: 1 }, {
      cookie: { name: 'cookie', severity: 'moderate', range: '<0.7.0', via: [{ title: 'out of bounds characters', url: 'https://github.com/advisories/GHSA-pxg6-pf52-xh8x' }], fixAvailable: true },
    }));
    assert.equal(moderate.code, PASS);
    assert.match(moderate.lines.join('\n'), /moderate cookie <0\.7\.0: out of bounds characters/);
  });

  it('a high or critical advisory fails, with the package, range and fix', () => {
    const verdict = classifyAudit(report({ high: 1, total: 1 }, {
      'node-forge': { name: 'node-forge', severity: 'high', range: '<1.4.0', via: [{ title: 'basicConstraints bypass', url: 'https://github.com/advisories/x' }], fixAvailable: { name: 'selfsigned', version: '5.0.0' } },
    }));
    assert.equal(verdict.code, FINDINGS);
    assert.match(verdict.lines[0]!, /^high node-forge <1\.4\.0: basicConstraints bypass .* \(fix: selfsigned@5\.0\.0\)$/);
    assert.equal(classifyAudit(report({ critical: 2, total: 2 })).code, FINDINGS);
  });
});
