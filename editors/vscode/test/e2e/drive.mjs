// End-to-end driver for scripts/e2e/editors-vscode.sh: drives a real VS Code
// (code-server, with the unmask .vsix installed) in Debian's chromium through
// playwright-core. It opens main.go, goes to the loop body (line 16), types
// $UNMASK_TYPED (default "fmt."), waits for unmask's ghost text, checks it, accepts it with Tab and
// saves. It prints keystroke-to-ghost-text times.
//
// usage: node drive.mjs URL LINE WANT_FILE OUT_DIR
//   PLAYWRIGHT_CORE  path of the playwright-core package
//   CHROMIUM         the browser binary (default /usr/bin/chromium)
import { createRequire } from 'node:module';
import * as fs from 'node:fs';

const [url, lineArg, wantFile, outDir] = process.argv.slice(2);
if (!url || !lineArg || !wantFile || !outDir) {
  console.error('usage: node drive.mjs URL LINE WANT_FILE OUT_DIR');
  process.exit(2);
}
const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
const want = fs.readFileSync(wantFile, 'utf8');
const typed = process.env.UNMASK_TYPED || 'fmt.';
const wantFirst = want.split('\n')[0];

let browser;
let page;
async function fail(msg) {
  console.error(`editors-vscode: FAIL: ${msg}`);
  if (page) {
    await page.screenshot({ path: `${outDir}/failure.png` }).catch(() => {});
    console.error(`editors-vscode: screenshot of the failure: ${outDir}/failure.png`);
  }
  await browser?.close().catch(() => {});
  process.exit(1);
}

// ghost returns the ghost text VS Code shows: the inline part after the
// cursor, then the lines of the view zone below it (multi-line suggestions).
async function ghost() {
  return page.evaluate(() => {
    const ed = document.querySelector('.monaco-editor.focused') || document.querySelector('.monaco-editor');
    if (!ed) return null;
    const inline = [...ed.querySelectorAll('.ghost-text-decoration')].map((e) => e.textContent).join('');
    // The lines below the cursor's: spans of class ghost-text, one parent per line.
    const lines = new Map();
    for (const span of ed.querySelectorAll('span.ghost-text')) {
      const key = span.parentElement;
      lines.set(key, (lines.get(key) ?? '') + span.textContent);
    }
    const below = [...lines.values()];
    if (inline === '' && below.length === 0) return null;
    // VS Code draws spaces as U+00A0 and control characters as their Unicode
    // pictures (U+2400..).
    const text = [inline, ...below].join('\n').replace(/\u00a0/g, ' ');
    return text.replace(/[\u2400-\u241f]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x2400)).replace(/\u2421/g, '\x7f');
  });
}

// typeTimed types keys (a key name, or text typed at once) and returns the ms
// from the last keydown to the first ghost text after it, measured in the
// page (performance.now()).
async function typeTimed(keys, timeoutMs) {
  await page.evaluate(() => {
    window.__unmask = { down: 0, shown: 0 };
    const seen = () => document.querySelector('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text');
    window.__unmaskObs?.disconnect();
    window.__unmaskObs = new MutationObserver(() => {
      if (window.__unmask.down && !window.__unmask.shown && seen()) {
        window.__unmask.shown = performance.now();
      }
    });
    window.__unmaskObs.observe(document.body, { subtree: true, childList: true, characterData: true });
    window.removeEventListener('keydown', window.__unmaskDown, { capture: true });
    window.__unmaskDown = () => { window.__unmask.down = performance.now(); window.__unmask.shown = 0; };
    window.addEventListener('keydown', window.__unmaskDown, { capture: true });
  });
  if (keys.length === 1 || /^[A-Z]/.test(keys)) {
    await page.keyboard.press(keys);
  } else {
    await page.keyboard.type(keys); // no delay: one burst, one request
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const t = await page.evaluate(() => window.__unmask.shown && window.__unmask.shown - window.__unmask.down);
    if (t) return t;
    await page.waitForTimeout(5);
  }
  return null;
}

async function editorText() {
  return page.evaluate(() => {
    const lines = [...document.querySelectorAll('.monaco-editor .view-lines .view-line')];
    return lines.map((l) => l.textContent.replace(/\u00a0/g, ' ')).join('\n');
  });
}

browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
    '--disable-extensions', '--disable-sync', '--no-first-run', '--mute-audio',
  ],
});
page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
await page.waitForSelector('.monaco-workbench', { timeout: 60000 }).catch(() => fail('the workbench did not load'));

// The extension activates on Go files; its status bar item appears then.
await page.keyboard.press('Control+P');
await page.waitForSelector('.quick-input-widget:not(.hidden) input', { timeout: 20000 }).catch(() => fail('no quick open'));
await page.keyboard.type('main.go', { delay: 20 });
await page.locator('.quick-input-list .monaco-list-row', { hasText: 'main.go' }).first().waitFor({ timeout: 20000 })
  .catch(() => fail('quick open does not find main.go'));
await page.keyboard.press('Enter');
await page.waitForFunction(() => [...document.querySelectorAll('.monaco-editor .view-line')].some((l) => l.textContent.replace(/\u00a0/g, ' ').includes('package main')), null, { timeout: 30000 })
  .catch(() => fail('main.go did not open'));
const statusItem = page.locator('.statusbar-item', { hasText: 'unmask' }).first();
await statusItem.waitFor({ timeout: 60000 }).catch(() => fail('no unmask status bar item: the extension did not activate'));
// Wait for the server: the item stops spinning once the client runs.
await page.waitForFunction(() => {
  const it = [...document.querySelectorAll('.statusbar-item')].find((e) => e.textContent.includes('unmask'));
  return it && it.textContent.includes('·');
}, null, { timeout: 60000 }).catch(async () => fail(`the server did not start: status bar ${JSON.stringify(await statusItem.textContent())}`));
// The client is running; its inline-completion provider registers just
// after. VS Code asks providers only on an edit, so typing before that would
// go unanswered.
await page.waitForTimeout(2000);

// Line 16, end of line (two tabs of indent), then type the text.
await page.keyboard.press('Control+G');
await page.keyboard.type(lineArg, { delay: 20 });
await page.keyboard.press('Enter');
await page.keyboard.press('End');
// The text in one burst: the server answers for the final position (a
// request per keystroke would let its typing-through cache answer instead,
// which `unmask complete` would not reproduce). The first request may wait
// for the model to load.
const first = await typeTimed(typed, 60000);
if (first === null) {
  await fail(`no ghost text within 60 s after typing ${JSON.stringify(typed)}`);
}
await page.waitForTimeout(300); // let a multi-line suggestion's view zone render
const shown = await ghost();
console.log(`editors-vscode: ghost text after ${JSON.stringify(typed)}: ${JSON.stringify(shown)} (${first.toFixed(0)} ms after the keystroke)`);
if (!shown || shown.split('\n')[0] !== wantFirst) {
  await fail(`ghost text ${JSON.stringify(shown)}, want it to start with ${JSON.stringify(wantFirst)} (unmask complete)`);
}
// VS Code draws tabs as runs of spaces: compare the text up to whitespace
// here; the saved file is compared exactly afterwards.
const norm = (s) => s.replace(/\s+/g, ' ').trim();
if (norm(shown) !== norm(want)) {
  await fail(`ghost text ${JSON.stringify(shown)}, want ${JSON.stringify(want)} (unmask complete)`);
}
if (process.env.UNMASK_SCREEN_DIR) {
  fs.mkdirSync(process.env.UNMASK_SCREEN_DIR, { recursive: true });
  await page.screenshot({ path: `${process.env.UNMASK_SCREEN_DIR}/vscode.png` });
}

// Accept with Tab and save.
await page.keyboard.press('Tab');
await page.waitForFunction((w) => [...document.querySelectorAll('.monaco-editor .view-line')].some((l) => l.textContent
  .replace(/\u00a0/g, ' ').replace(/[\u2400-\u241f]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x2400))
  .includes(w)), typed + wantFirst, { timeout: 5000 })
  .catch(async () => fail(`after Tab the editor shows:\n${await editorText()}`));
await page.keyboard.press('Control+S');
await page.waitForTimeout(1000);
console.log('editors-vscode: accepted with Tab and saved');

// Keystroke to ghost text, model loaded: a new line, then a key at a time,
// each after Escape hid what was shown.
const times = [first];
await page.keyboard.press('End');
await page.keyboard.press('Enter');
for (const k of ['i', 'f', 'Space', 'n', 'Space']) {
  await page.keyboard.press('Escape');
  await page.waitForTimeout(300);
  const t = await typeTimed(k, 10000);
  if (t !== null) times.push(t);
}
times.sort((a, b) => a - b);
console.log(`editors-vscode: keystroke -> ghost text, ms (sorted, n=${times.length}): ${times.map((t) => t.toFixed(0)).join(' ')}; median ${times[Math.floor((times.length - 1) / 2)].toFixed(0)}`);
// Alt+] (Show Next Inline Suggestion) asks the server again, explicitly
// (triggerKind Invoked), and the server offers alternatives to cycle to.
{
  let before = await ghost();
  if (!before) {
    await page.keyboard.press('Alt+BracketRight');
    await page.waitForFunction(() => document.querySelector('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text'),
      null, { timeout: 10000 }).catch(() => fail('Alt+] showed no ghost text'));
    await page.waitForTimeout(300);
    before = await ghost();
  }
  let after = before;
  for (let i = 0; i < 3 && after === before; i++) {
    await page.keyboard.press('Alt+BracketRight');
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (after = await ghost()) === before) await page.waitForTimeout(50);
  }
  if (!after || after === before) {
    await fail(`Alt+] did not show another suggestion (shows ${JSON.stringify(after)})`);
  }
  console.log(`editors-vscode: Alt+] cycled from ${JSON.stringify(before)} to ${JSON.stringify(after)}`);
  await page.keyboard.press('Escape');
}
const bar = (await statusItem.textContent()).trim();
console.log(`editors-vscode: status bar: ${JSON.stringify(bar)}`);
if (!/unmask .+ · .+ · \d+ ms/.test(bar)) {
  await fail(`the status bar item should show model · device · latency, shows ${JSON.stringify(bar)}`);
}

// The commands, from the command palette.
async function command(title) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget:not(.hidden) input', { timeout: 10000 });
  await page.keyboard.type(title);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10000 })
    .catch(() => fail(`no command ${JSON.stringify(title)} in the palette`));
  await page.keyboard.press('Enter');
}
const barHas = (re) => page.waitForFunction((src) => {
  const it = [...document.querySelectorAll('.statusbar-item')].find((e) => e.textContent.includes('unmask'));
  return it && new RegExp(src).test(it.textContent);
}, re.source, { timeout: 20000 });
await command('unmask: Toggle Completions');
await barHas(/^\s*unmask\s*$/).catch(async () => fail(`after Toggle the status bar shows ${JSON.stringify(await statusItem.textContent())}`));
await command('unmask: Toggle Completions');
await barHas(/·/).catch(async () => fail(`after the second Toggle the status bar shows ${JSON.stringify(await statusItem.textContent())}`));
await command('unmask: Restart Server');
await barHas(/·/).catch(() => fail('the server did not come back after Restart'));
await command('unmask: Show Log');
await page.waitForFunction(() => [...document.querySelectorAll('.part.panel .view-line')].some((l) => l.textContent.replace(/\u00a0/g, ' ').includes('starting ')), null, { timeout: 10000 })
  .catch(() => fail('Show Log does not show the unmask log'));
console.log('editors-vscode: Toggle, Restart Server and Show Log work');
await browser.close();
