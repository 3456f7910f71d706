// Unit tests of the extension's own logic (src/config.ts): run with
// `node --test test/` (Node 24 strips the types).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { expandPath, needsRestart, resolveServer, ServerNotFoundError, serverSettings, statusText } from '../src/config.ts';

test('serverSettings leaves out unset keys', () => {
  const cases: { name: string; set: Record<string, unknown>; want: Record<string, unknown> }[] = [
    { name: 'nothing set', set: {}, want: {} },
    { name: 'nulls are the server default', set: { model: null, maxTokens: null }, want: {} },
    { name: 'blank strings are unset', set: { model: '  ', device: '' }, want: {} },
    {
      name: 'values pass unchanged',
      set: { model: '/m', device: 'gpu', maxTokens: 64, threshold: 0.9, languages: ['go'], debounceMs: 0 },
      want: { model: '/m', device: 'gpu', maxTokens: 64, threshold: 0.9, languages: ['go'], debounceMs: 0 },
    },
    { name: 'keys the server does not read stay out', set: { path: '/bin/unmask', enable: true }, want: {} },
  ];
  for (const c of cases) {
    const got = serverSettings((k) => c.set[k]);
    assert.deepEqual(got, c.want, `${c.name}: serverSettings(${JSON.stringify(c.set)}) = ${JSON.stringify(got)}, want ${JSON.stringify(c.want)}`);
  }
});

test('serverSettings sends languages only when the user set them', () => {
  const set = { languages: ['go', 'javascript'], maxTokens: 8 };
  // The extension's default list (its document selector) is not the user's.
  assert.deepEqual(serverSettings((k) => set[k as keyof typeof set], (k) => k !== 'languages'), { maxTokens: 8 });
  assert.deepEqual(serverSettings((k) => set[k as keyof typeof set], () => true), set);
});

test('needsRestart only for the binary path', () => {
  assert.equal(needsRestart((s) => s === 'unmask.path'), true);
  assert.equal(needsRestart((s) => s === 'unmask.maxTokens'), false);
});

test('expandPath', () => {
  const cases = [
    { in: '~/bin/unmask', folder: undefined, want: '/home/u/bin/unmask' },
    { in: '~', folder: undefined, want: '/home/u' },
    { in: '${workspaceFolder}/bin/unmask', folder: '/w', want: '/w/bin/unmask' },
    { in: '${workspaceFolder}/bin/unmask', folder: undefined, want: '${workspaceFolder}/bin/unmask' },
    { in: ' /opt/unmask ', folder: '/w', want: '/opt/unmask' },
    { in: 'a~/b', folder: undefined, want: 'a~/b' },
  ];
  for (const c of cases) {
    const got = expandPath(c.in, c.folder, '/home/u');
    assert.equal(got, c.want, `expandPath(${JSON.stringify(c.in)}) = ${JSON.stringify(got)}, want ${JSON.stringify(c.want)}`);
  }
});

test('resolveServer', () => {
  const files = new Set(['/usr/local/bin/unmask', '/w/bin/unmask', '/opt/x/unmask']);
  const exists = (p: string) => files.has(p);
  const PATH = ['/usr/bin', '', '/usr/local/bin', '/opt/x'].join(path.delimiter);
  assert.equal(resolveServer('', { PATH }, '/w', exists), '/usr/local/bin/unmask', 'first on PATH wins');
  assert.equal(resolveServer('${workspaceFolder}/bin/unmask', { PATH }, '/w', exists), '/w/bin/unmask', 'setting wins over PATH');
  assert.throws(() => resolveServer('/nope/unmask', { PATH }, '/w', exists), (e: unknown) =>
    e instanceof ServerNotFoundError && /unmask\.path/.test(e.message) && /\/nope\/unmask/.test(e.message));
  assert.throws(() => resolveServer('', { PATH: '/usr/bin' }, '/w', exists), (e: unknown) =>
    e instanceof ServerNotFoundError && /not on PATH/.test(e.message));
  assert.throws(() => resolveServer('', {}, undefined, exists), ServerNotFoundError, 'no PATH at all');
});

test('statusText', () => {
  const base = { enabled: true, running: true, model: null, device: null };
  const cases = [
    { name: 'defaults', in: base, text: '$(sparkle) unmask default · cpu' },
    { name: 'latency', in: { ...base, lastLatencyMs: 41.6 }, text: '$(sparkle) unmask default · cpu · 42 ms' },
    { name: 'model folder', in: { ...base, model: '/models/coder-0.5b/', device: 'gpu' }, text: '$(sparkle) unmask coder-0.5b · gpu' },
    { name: 'loading', in: { ...base, lastLatencyMs: 9, server: { model: 'loading' } }, text: '$(sync~spin) unmask default · cpu · loading' },
    { name: 'off', in: { ...base, enabled: false }, text: '$(circle-slash) unmask' },
    { name: 'starting', in: { ...base, running: false }, text: '$(sync~spin) unmask' },
    { name: 'error', in: { ...base, error: 'unmask: not found' }, text: '$(error) unmask' },
    {
      name: 'a language the server does not complete',
      in: { ...base, languageId: 'javascript', server: { model: 'ready', languages: ['go', 'python'] } },
      text: '$(circle-slash) unmask · javascript off',
    },
    {
      name: 'a language it completes',
      in: { ...base, languageId: 'go', server: { model: 'ready', languages: ['go', 'python'] } },
      text: '$(sparkle) unmask default · cpu',
    },
    { name: 'a server that completes all', in: { ...base, languageId: 'javascript', server: { model: 'ready' } }, text: '$(sparkle) unmask default · cpu' },
  ];
  for (const c of cases) {
    const got = statusText(c.in).text;
    assert.equal(got, c.text, `${c.name}: statusText().text = ${JSON.stringify(got)}, want ${JSON.stringify(c.text)}`);
  }
  const tip = statusText({ ...base, lastLatencyMs: 12, version: 'devel-36b610f01234', server: { model: 'ready', completions: 3, accepted: 1, latencyP50Ms: 40, latencyP95Ms: 90, cacheHitRate: 0.5 } }).tooltip;
  for (const want of ['model: embedded default', 'server: unmask devel-36b610f01234', 'completions: 3, accepted: 1', 'last completion: 12 ms', 'server latency p50 40 ms, p95 90 ms', 'cache hits: 50%', 'Click for the log.']) {
    assert.ok(tip.includes(want), `tooltip ${JSON.stringify(tip)} lacks ${JSON.stringify(want)}`);
  }
  assert.match(statusText({ ...base, error: 'boom' }).tooltip, /^boom\n/);
  assert.match(statusText({ ...base, languageId: 'rust', server: { languages: ['go', 'python'] } }).tooltip, /completes go, python, not rust.*unmask\.languages/);
});
