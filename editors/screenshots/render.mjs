// Renders terminal screens captured with `tmux capture-pane -p -e` (ANSI
// SGR colours) to PNG through HTML in Debian's chromium (playwright-core):
//   node render.mjs in.ansi out.png [title]
//   PLAYWRIGHT_CORE  path of the playwright-core package
//   CHROMIUM         the browser binary (default /usr/bin/chromium)
import { createRequire } from 'node:module';
import * as fs from 'node:fs';

const [inFile, outFile, title = ''] = process.argv.slice(2);
if (!inFile || !outFile) {
  console.error('usage: node render.mjs in.ansi out.png [title]');
  process.exit(2);
}

// The xterm palette: 16 base colours, a 6x6x6 cube, 24 greys.
const base = ['#1e1e1e', '#cd3131', '#0dbc79', '#e5e510', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5',
  '#666666', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff'];
function xterm(n) {
  if (n < 16) return base[n];
  if (n < 232) {
    const v = [0, 95, 135, 175, 215, 255];
    n -= 16;
    return `rgb(${v[Math.floor(n / 36)]},${v[Math.floor(n / 6) % 6]},${v[n % 6]})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// ansiToHtml converts SGR sequences to spans; other escapes are dropped.
function ansiToHtml(text) {
  let st = {};
  let out = '';
  let open = false;
  const style = () => {
    let fg = st.fg, bg = st.bg;
    if (st.reverse) [fg, bg] = [bg || '#1e1e1e', fg || '#d4d4d4'];
    const css = [];
    if (fg) css.push(`color:${fg}`);
    if (bg) css.push(`background:${bg}`);
    if (st.bold) css.push('font-weight:bold');
    if (st.italic) css.push('font-style:italic');
    if (st.underline) css.push('text-decoration:underline');
    return css.join(';');
  };
  const parts = text.split(/(\x1b\[[0-9;:]*[A-Za-z])/);
  for (const p of parts) {
    const m = /^\x1b\[([0-9;:]*)([A-Za-z])$/.exec(p);
    if (!m) {
      out += esc(p.replace(/\x1b[^[]?/g, ''));
      continue;
    }
    if (m[2] !== 'm') continue;
    const codes = (m[1] === '' ? '0' : m[1]).split(/[;:]/).map(Number);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) st = {};
      else if (c === 1) st.bold = true;
      else if (c === 3) st.italic = true;
      else if (c === 4) st.underline = true;
      else if (c === 7) st.reverse = true;
      else if (c === 22) st.bold = false;
      else if (c === 23) st.italic = false;
      else if (c === 24) st.underline = false;
      else if (c === 27) st.reverse = false;
      else if (c >= 30 && c <= 37) st.fg = base[c - 30];
      else if (c >= 90 && c <= 97) st.fg = base[c - 90 + 8];
      else if (c >= 40 && c <= 47) st.bg = base[c - 40];
      else if (c >= 100 && c <= 107) st.bg = base[c - 100 + 8];
      else if (c === 39) delete st.fg;
      else if (c === 49) delete st.bg;
      else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
        st[c === 38 ? 'fg' : 'bg'] = xterm(codes[i + 2]);
        i += 2;
      } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
        st[c === 38 ? 'fg' : 'bg'] = `rgb(${codes[i + 2]},${codes[i + 3]},${codes[i + 4]})`;
        i += 4;
      }
    }
    if (open) out += '</span>';
    out += `<span style="${style()}">`;
    open = true;
  }
  if (open) out += '</span>';
  return out;
}

const body = ansiToHtml(fs.readFileSync(inFile, 'utf8').replace(/\n+$/, ''));
const html = `<!doctype html><meta charset="utf-8"><style>
body { margin: 0; background: #1e1e1e; }
.t { font: 12px/1.35 "DejaVu Sans Mono", monospace; color: #d4d4d4; padding: 8px 10px; }
.h { font: bold 12px sans-serif; color: #aaa; background: #333; padding: 4px 10px; }
pre { margin: 0; tab-size: 8; }
</style><div id="shot">${title ? `<div class="h">${esc(title)}</div>` : ''}<div class="t"><pre>${body}</pre></div></div>`;

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
});
const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
await page.setContent(html);
await page.locator('#shot').screenshot({ path: outFile });
await browser.close();
