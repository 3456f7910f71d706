// The unmask extension: runs `unmask serve` as a language client whose
// inline completions (LSP 3.18) VS Code shows as ghost text.
import * as vscode from 'vscode';
import { LanguageClient, State, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import {
  needsRestart,
  resolveServer,
  ServerNotFoundError,
  serverSettings,
  statusText,
  type ServerKey,
  type ServerStatus,
} from './config.ts';

let client: LanguageClient | undefined;
let log: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
let lastLatencyMs: number | undefined;
let serverStatus: ServerStatus | undefined;
let startError: string | undefined;
let statusTimer: NodeJS.Timeout | undefined;

function settings(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('unmask');
}

function currentServerSettings(): Record<string, unknown> {
  const s = settings();
  return serverSettings(
    (k: ServerKey) => s.get(k),
    (k: ServerKey) => {
      const i = s.inspect(k);
      return i !== undefined && [i.globalValue, i.workspaceValue, i.workspaceFolderValue,
        i.globalLanguageValue, i.workspaceLanguageValue, i.workspaceFolderLanguageValue].some((v) => v !== undefined);
    },
  );
}

function updateStatus(): void {
  const s = settings();
  const { text, tooltip } = statusText({
    enabled: s.get<boolean>('enable', true),
    running: client?.state === State.Running,
    model: s.get<string | null>('model'),
    device: s.get<string | null>('device'),
    lastLatencyMs,
    server: serverStatus,
    error: startError,
    languageId: vscode.window.activeTextEditor?.document.languageId,
    version: client?.initializeResult?.serverInfo?.version,
  });
  status.text = text;
  status.tooltip = tooltip;
}

// refreshServerStatus asks the server for its counters, at most every 2 s.
function refreshServerStatus(): void {
  if (statusTimer || !client || client.state !== State.Running) {
    return;
  }
  statusTimer = setTimeout(async () => {
    statusTimer = undefined;
    try {
      serverStatus = await client?.sendRequest<ServerStatus>('unmask/status', {});
    } catch {
      // An older server without unmask/status: the bar shows what we measure.
    }
    updateStatus();
  }, 2000);
}

async function start(): Promise<void> {
  if (client || !settings().get<boolean>('enable', true)) {
    updateStatus();
    return;
  }
  startError = undefined;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  let command: string;
  try {
    command = resolveServer(settings().get<string>('path', ''), process.env, folder);
  } catch (e) {
    if (!(e instanceof ServerNotFoundError)) {
      throw e;
    }
    startError = e.message;
    log.error(e.message);
    updateStatus();
    void vscode.window.showErrorMessage(e.message, 'Open Settings').then((choice) => {
      if (choice) {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'unmask.path');
      }
    });
    return;
  }
  const languages = settings().get<string[]>('languages', []);
  const serverOptions: ServerOptions = { command, args: ['serve'] };
  const clientOptions: LanguageClientOptions = {
    documentSelector: languages.flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
    initializationOptions: currentServerSettings(),
    outputChannel: log,
    traceOutputChannel: log,
    middleware: {
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        const t0 = performance.now();
        const result = await next(document, position, context, token);
        if (!token.isCancellationRequested) {
          lastLatencyMs = performance.now() - t0;
          updateStatus();
          refreshServerStatus();
        }
        return result;
      },
      // The server also answers textDocument/completion (for editors without
      // ghost text); in VS Code the same text would show twice.
      provideCompletionItem: () => undefined,
    },
  };
  log.info(`starting ${command} serve`);
  client = new LanguageClient('unmask', 'unmask', serverOptions, clientOptions);
  client.onDidChangeState(() => updateStatus());
  try {
    await client.start();
  } catch (e) {
    startError = `unmask: the server did not start: ${e instanceof Error ? e.message : String(e)}`;
    log.error(startError);
    client = undefined;
  }
  updateStatus();
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  serverStatus = undefined;
  if (c) {
    try {
      await c.stop();
    } catch (e) {
      log.warn(`stopping the server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  updateStatus();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel('unmask', { log: true });
  status = vscode.window.createStatusBarItem('unmask.status', vscode.StatusBarAlignment.Right, 100);
  status.name = 'unmask';
  status.command = 'unmask.showLog';
  status.show();
  context.subscriptions.push(
    log,
    status,
    vscode.commands.registerCommand('unmask.toggle', async () => {
      const on = settings().get<boolean>('enable', true);
      await settings().update('enable', !on, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand('unmask.restart', async () => {
      await stop();
      await start();
    }),
    vscode.commands.registerCommand('unmask.showLog', () => log.show()),
    // The bar says when the active editor's language is one the server
    // does not complete.
    vscode.window.onDidChangeActiveTextEditor(() => {
      updateStatus();
      refreshServerStatus();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (!e.affectsConfiguration('unmask')) {
        return;
      }
      if (!settings().get<boolean>('enable', true)) {
        await stop();
        return;
      }
      if (!client || needsRestart((s) => e.affectsConfiguration(s)) || e.affectsConfiguration('unmask.languages')) {
        await stop();
        await start();
        return;
      }
      // The server applies the rest live (a new model loads in the background).
      await client.sendNotification('workspace/didChangeConfiguration', { settings: { unmask: currentServerSettings() } });
      updateStatus();
    }),
    { dispose: () => void stop() },
  );
  updateStatus();
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}
