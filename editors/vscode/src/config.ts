// The extension's own logic, kept free of the vscode module so that unit
// tests run in plain Node: which settings go to the server, where the server
// binary is, and what the status bar says.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// serverKeys are the settings the server reads (lsp.Config in the server),
// mirrored one to one under "unmask.*" in VS Code.
export const serverKeys = [
  'model',
  'device',
  'engine',
  'maxTokens',
  'contextTokens',
  'schedule',
  'threshold',
  'languages',
  'debounceMs',
  'timeBudgetMs',
  'warmStart',
  'lookup',
  'lookupFiles',
  'blockBody',
  'alternatives',
  'speculate',
] as const;

export type ServerKey = (typeof serverKeys)[number];

// selectorKeys are server settings that the extension also uses itself:
// "languages" is the client's document selector too, and its default
// lists every language the extension attaches to. The server gets them
// only when the user set them, so that by default it completes the
// languages its model was trained on (the embedded model: Go and Python)
// and says in the log why not the others.
export const selectorKeys: readonly ServerKey[] = ['languages'];

// serverSettings returns the server configuration from a settings getter:
// only the keys the user set (null or undefined means "the server's
// default", so it is left out and the server keeps its own value; for
// selectorKeys, userSet says whether the value is the user's or the
// extension's default).
export function serverSettings(
  get: (key: ServerKey) => unknown,
  userSet: (key: ServerKey) => boolean = () => true,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of serverKeys) {
    if (selectorKeys.includes(k) && !userSet(k)) {
      continue;
    }
    const v = get(k);
    if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) {
      continue;
    }
    out[k] = v;
  }
  return out;
}

// restartKeys are the settings that need a new server process to apply.
export function needsRestart(changed: (section: string) => boolean): boolean {
  return changed('unmask.path');
}

// expandPath expands a leading ~ and ${workspaceFolder} in a path setting.
export function expandPath(p: string, workspaceFolder: string | undefined, home = os.homedir()): string {
  let out = p.trim();
  if (out === '~' || out.startsWith('~/')) {
    out = path.join(home, out.slice(1));
  }
  if (workspaceFolder !== undefined) {
    out = out.split('${workspaceFolder}').join(workspaceFolder);
  }
  return out;
}

// isExecutable reports whether p is a regular file the user may execute.
function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) {
      return false;
    }
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export class ServerNotFoundError extends Error {}

// resolveServer finds the unmask binary: the path setting when set (it must
// exist), else `unmask` on PATH. It throws ServerNotFoundError with what to
// do when there is none.
export function resolveServer(
  setting: string,
  env: { PATH?: string },
  workspaceFolder?: string,
  exists: (p: string) => boolean = isExecutable,
): string {
  if (setting.trim() !== '') {
    const p = expandPath(setting, workspaceFolder);
    if (!exists(p)) {
      throw new ServerNotFoundError(`unmask: unmask.path is ${JSON.stringify(setting)}, but ${p} is not an executable file`);
    }
    return p;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') {
      continue;
    }
    const p = path.join(dir, process.platform === 'win32' ? 'unmask.exe' : 'unmask');
    if (exists(p)) {
      return p;
    }
  }
  throw new ServerNotFoundError(
    'unmask: the unmask binary is not on PATH; install it (go install github.com/unmask/unmask/cmd/unmask@latest) or set unmask.path',
  );
}

// A ServerStatus is the part of the server's unmask/status answer the status
// bar shows.
export interface ServerStatus {
  model?: string; // "loading" | "ready" | "failed: …" | "none"
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  completions?: number;
  cacheHitRate?: number;
  accepted?: number; // items reported inserted (the unmask.accepted command)
  languages?: string[]; // the languageIds the server completes; absent: all
}

export interface StatusInput {
  enabled: boolean;
  running: boolean;
  model: string | null | undefined; // the model setting; empty = embedded default
  device: string | null | undefined;
  lastLatencyMs?: number; // request to answer of the last inline completion, measured here
  server?: ServerStatus;
  error?: string;
  languageId?: string; // the active editor's
  version?: string; // the server's serverInfo.version (`unmask version` says more)
}

// statusText returns the status bar's text and tooltip.
export function statusText(s: StatusInput): { text: string; tooltip: string } {
  const model = s.model ? path.basename(s.model.replace(/[\\/]+$/, '')) : 'default';
  const device = s.device || 'cpu';
  if (s.error) {
    return { text: '$(error) unmask', tooltip: `${s.error}\nClick for the log.` };
  }
  if (!s.enabled) {
    return { text: '$(circle-slash) unmask', tooltip: 'unmask completions are off (unmask: Toggle Completions).\nClick for the log.' };
  }
  if (!s.running) {
    return { text: '$(sync~spin) unmask', tooltip: 'unmask server starting.\nClick for the log.' };
  }
  const langs = s.server?.languages;
  if (s.languageId && langs && langs.length > 0 && !langs.includes(s.languageId)) {
    return {
      text: `$(circle-slash) unmask · ${s.languageId} off`,
      tooltip: `The server completes ${langs.join(', ')}, not ${s.languageId}` +
        ` (its model's languages, or unmask.languages where you set it). Add it to unmask.languages to complete it anyway.\nClick for the log.`,
    };
  }
  let text = `$(sparkle) unmask ${model} · ${device}`;
  if (s.server?.model === 'loading') {
    text = `$(sync~spin) unmask ${model} · ${device} · loading`;
  } else if (s.lastLatencyMs !== undefined) {
    text += ` · ${Math.round(s.lastLatencyMs)} ms`;
  }
  const lines = [`model: ${s.model || 'embedded default'}`, `device: ${device}`];
  if (s.version) {
    lines.push(`server: unmask ${s.version}`);
  }
  if (s.lastLatencyMs !== undefined) {
    lines.push(`last completion: ${Math.round(s.lastLatencyMs)} ms`);
  }
  const st = s.server;
  if (st) {
    if (st.model) {
      lines.push(`server model: ${st.model}`);
    }
    if (st.completions !== undefined) {
      lines.push(st.accepted !== undefined ? `completions: ${st.completions}, accepted: ${st.accepted}` : `completions: ${st.completions}`);
    }
    if (st.latencyP50Ms !== undefined && st.latencyP95Ms !== undefined) {
      lines.push(`server latency p50 ${st.latencyP50Ms.toFixed(0)} ms, p95 ${st.latencyP95Ms.toFixed(0)} ms`);
    }
    if (st.cacheHitRate !== undefined) {
      lines.push(`cache hits: ${(st.cacheHitRate * 100).toFixed(0)}%`);
    }
  }
  lines.push('Click for the log.');
  return { text, tooltip: lines.join('\n') };
}
