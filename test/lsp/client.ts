/**
 * A minimal LSP client that drives the real yaml-language-server over stdio the way an editor
 * (VS Code with the Red Hat YAML extension) does: it spawns the server, speaks JSON-RPC with
 * vscode-jsonrpc, sends initialize / initialized with editor-like client capabilities, answers
 * the server's `workspace/configuration` pulls from a settings tree, opens documents, collects
 * `textDocument/publishDiagnostics` and asks for completions.
 *
 * Every wait has a timeout whose error message says what was (not) received, so a broken server
 * fails the test quickly instead of hanging it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createMessageConnection,
  ErrorCodes,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node.js';

// --- the few LSP shapes the test needs (vscode-languageserver-protocol is not a direct dependency)

export interface Position {
  line: number;
  character: number;
}
export interface Range {
  start: Position;
  end: Position;
}
export interface Diagnostic {
  range: Range;
  message: string;
  severity?: 1 | 2 | 3 | 4;
  source?: string;
  code?: number | string;
  data?: unknown;
}
export interface CompletionItem {
  label: string;
  kind?: number;
  detail?: string;
  documentation?: string | { kind: string; value: string };
  insertText?: string;
  insertTextFormat?: number;
  textEdit?: unknown;
}
export interface CompletionList {
  isIncomplete: boolean;
  items: CompletionItem[];
}
interface ConfigurationItem {
  section?: string;
  scopeUri?: string;
}

/** A settings tree as an editor keeps it: `yaml`, `http`, `[yaml]`, `editor` sections. */
export type Settings = Record<string, unknown>;

/**
 * Settings an editor would send for this project: validation, hover and completion on, the
 * schema store (and the Kubernetes CRD store) off because the machine is offline and modelspec
 * files name their schema in the modeline. `schemas` (yaml.schemas) is left empty on purpose:
 * the modeline alone must be enough.
 */
export function editorSettings(overrides: { schemas?: Record<string, string | string[]> } = {}): Settings {
  return {
    yaml: {
      validate: true,
      hover: true,
      completion: true,
      format: { enable: false },
      schemas: overrides.schemas ?? {},
      schemaStore: { enable: false, url: '' },
      kubernetesCRDStore: { enable: false },
      disableSchemaDetection: [],
      customTags: [],
      maxItemsComputed: 5000,
      yamlVersion: '1.2',
      suggest: { parentSkeletonSelectedFirst: false },
      style: { flowMapping: 'allow', flowSequence: 'allow' },
      keyOrdering: false,
    },
    http: { proxy: '', proxyStrictSSL: true },
    '[yaml]': { 'editor.tabSize': 2, 'editor.insertSpaces': true, 'editor.autoIndent': 'keep' },
    editor: { tabSize: 2, insertSpaces: true, detectIndentation: false },
  };
}

/** Client capabilities modelled on what VS Code sends (the parts yaml-language-server reads). */
export const EDITOR_CLIENT_CAPABILITIES = {
  general: { positionEncodings: ['utf-16'] },
  workspace: {
    applyEdit: true,
    configuration: true,
    workspaceFolders: true,
    didChangeConfiguration: { dynamicRegistration: true },
    didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
    workspaceEdit: { documentChanges: true, resourceOperations: ['create', 'rename', 'delete'] },
    codeLens: { refreshSupport: true },
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, willSave: true, willSaveWaitUntil: true, didSave: true },
    publishDiagnostics: {
      relatedInformation: true,
      versionSupport: false,
      tagSupport: { valueSet: [1, 2] },
      codeDescriptionSupport: true,
      dataSupport: true,
    },
    completion: {
      dynamicRegistration: true,
      contextSupport: true,
      completionItem: {
        snippetSupport: true,
        commitCharactersSupport: true,
        documentationFormat: ['markdown', 'plaintext'],
        deprecatedSupport: true,
        preselectSupport: true,
        insertReplaceSupport: true,
        labelDetailsSupport: true,
        tagSupport: { valueSet: [1] },
        resolveSupport: { properties: ['documentation', 'detail', 'additionalTextEdits'] },
        insertTextModeSupport: { valueSet: [1, 2] },
      },
      completionItemKind: { valueSet: Array.from({ length: 25 }, (_, i) => i + 1) },
      insertTextMode: 2,
    },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    documentSymbol: { dynamicRegistration: true, hierarchicalDocumentSymbolSupport: true },
    formatting: { dynamicRegistration: true },
    rangeFormatting: { dynamicRegistration: true },
    onTypeFormatting: { dynamicRegistration: true },
    codeAction: { dynamicRegistration: true, isPreferredSupport: true },
    codeLens: { dynamicRegistration: true },
    definition: { dynamicRegistration: true, linkSupport: true },
    foldingRange: { dynamicRegistration: true, lineFoldingOnly: true },
    selectionRange: { dynamicRegistration: true },
    documentLink: { dynamicRegistration: true, tooltipSupport: true },
    rename: { dynamicRegistration: true, prepareSupport: true },
  },
  window: { workDoneProgress: true, showMessage: { messageActionItem: { additionalPropertiesSupport: true } } },
} as const;

const require = createRequire(import.meta.url);

/** The server's real entry point: the `bin` script of the installed yaml-language-server. */
export function serverEntry(): string {
  const pkgJson = require.resolve('yaml-language-server/package.json');
  const pkg = require(pkgJson) as { bin: Record<string, string> };
  return join(dirname(pkgJson), pkg.bin['yaml-language-server'] ?? 'bin/yaml-language-server');
}

export const NO_NETWORK_PRELOAD = join(dirname(fileURLToPath(import.meta.url)), 'no-network.cjs');
export const NO_NETWORK_MARKER = '[lsp-test:no-network]';

export function fileUri(path: string): string {
  return pathToFileURL(path).href;
}

interface Waiter {
  index: number;
  resolve: (d: Diagnostic[]) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface StartOptions {
  /** Directory sent as rootUri / the single workspace folder. */
  workspaceRoot: string;
  settings?: Settings;
  /** Time allowed for spawn + initialize + the first configuration pull. */
  timeoutMs?: number;
}

export class YamlLanguageClient {
  /** Everything the server wrote to stderr (it should be nothing; the no-network guard writes here). */
  stderr = '';
  /** `window/logMessage` and `window/showMessage` texts. */
  readonly logMessages: string[] = [];
  /** `workspace/configuration` items the server asked for, in order. */
  readonly configurationRequests: ConfigurationItem[] = [];
  /** Server-to-client requests other than configuration / (un)registerCapability. */
  readonly unexpectedRequests: { method: string; params: unknown }[] = [];
  /** Every publishDiagnostics per URI, in arrival order. */
  readonly diagnostics = new Map<string, Diagnostic[][]>();
  /** The result of `initialize`. */
  initializeResult: { capabilities: Record<string, unknown>; serverInfo?: { name: string; version?: string } } | undefined;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;

  private readonly waiters = new Map<string, Waiter[]>();
  private readonly versions = new Map<string, number>();
  private readonly exited: Promise<void>;
  private disposed = false;

  private constructor(
    readonly process: ChildProcessWithoutNullStreams,
    readonly connection: MessageConnection,
    private settings: Settings,
  ) {
    process.stderr.setEncoding('utf8');
    process.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      process.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        this.failAllWaiters(`the server exited (code ${code}, signal ${signal})`);
        resolve();
      });
    });
    process.on('error', (err) => this.failAllWaiters(`the server process failed: ${err.message}`));
    // A write to a server that has just died must fail the waiting test, not crash the worker.
    process.stdin.on('error', (err) => this.failAllWaiters(`writing to the server failed: ${err.message}`));

    connection.onNotification('textDocument/publishDiagnostics', (params: { uri: string; diagnostics: Diagnostic[] }) => {
      const list = this.diagnostics.get(params.uri) ?? [];
      list.push(params.diagnostics);
      this.diagnostics.set(params.uri, list);
      const waiters = this.waiters.get(params.uri) ?? [];
      for (const w of [...waiters]) {
        if (list.length > w.index) {
          clearTimeout(w.timer);
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(list[w.index]!);
        }
      }
    });
    connection.onNotification('window/logMessage', (p: { message: string }) => this.logMessages.push(p.message));
    connection.onNotification('window/showMessage', (p: { message: string }) => this.logMessages.push(p.message));
    // telemetry/event, $/progress, yaml/schema/store/initialized, ...: an editor ignores them too.
    connection.onNotification(() => undefined);

    connection.onRequest('workspace/configuration', (params: { items: ConfigurationItem[] }) => {
      this.configurationRequests.push(...params.items);
      return params.items.map((item) => this.lookup(item.section));
    });
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('client/unregisterCapability', () => null);
    connection.onRequest('window/workDoneProgress/create', () => null);
    connection.onRequest('workspace/codeLens/refresh', () => null);
    connection.onRequest((method: string, params: unknown) => {
      this.unexpectedRequests.push({ method, params });
      return new ResponseError(ErrorCodes.MethodNotFound, `the test client does not handle ${method}`);
    });
  }

  /** Spawns the server, initializes it and waits until it has pulled its configuration. */
  static async start(options: StartOptions): Promise<YamlLanguageClient> {
    const timeoutMs = options.timeoutMs ?? 8000;
    const child = spawn(process.execPath, ['--require', NO_NETWORK_PRELOAD, serverEntry(), '--stdio'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: options.workspaceRoot,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const connection = createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    );
    const client = new YamlLanguageClient(child, connection, options.settings ?? editorSettings());
    connection.listen();

    try {
      const rootUri = fileUri(options.workspaceRoot);
      const firstPull = client.waitFor(
        () => client.configurationRequests.some((i) => i.section === 'yaml'),
        timeoutMs,
        'the server to pull the `yaml` configuration section after initialized',
      );
      client.initializeResult = await client.withTimeout(
        connection.sendRequest('initialize', {
          processId: process.pid,
          clientInfo: { name: 'modelspec-lsp-test', version: '1' },
          locale: 'en',
          rootPath: options.workspaceRoot,
          rootUri,
          workspaceFolders: [{ uri: rootUri, name: 'modelspec-lsp-test' }],
          capabilities: EDITOR_CLIENT_CAPABILITIES,
          initializationOptions: {},
          trace: 'off',
        }),
        timeoutMs,
        'the initialize response',
      );
      await connection.sendNotification('initialized', {});
      await firstPull;
      // The pull's answer is applied asynchronously; give the server one round trip to apply it
      // before documents are opened (a request is served after the queued configuration work).
      await client.withTimeout(
        connection.sendRequest('textDocument/hover', {
          textDocument: { uri: `${rootUri}/not-open.yaml` },
          position: { line: 0, character: 0 },
        }),
        timeoutMs,
        'a round trip after the configuration pull',
      );
      return client;
    } catch (err) {
      client.kill();
      throw err;
    }
  }

  private lookup(section: string | undefined): unknown {
    if (!section) return this.settings;
    if (section in this.settings) return this.settings[section];
    let node: unknown = this.settings;
    for (const part of section.split('.')) {
      if (node === null || typeof node !== 'object' || !(part in node)) return null;
      node = (node as Record<string, unknown>)[part];
    }
    return node;
  }

  /** Changes the settings and tells the server, as an editor does when the user edits them. */
  async updateSettings(settings: Settings): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  }

  /** textDocument/didOpen. Returns the index of the diagnostics publication this open will produce. */
  async open(uri: string, text: string, languageId = 'yaml'): Promise<number> {
    const index = this.diagnostics.get(uri)?.length ?? 0;
    this.versions.set(uri, 1);
    await this.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId, version: 1, text },
    });
    return index;
  }

  /** textDocument/didChange with the full new text. Returns the index of the next publication. */
  async change(uri: string, text: string): Promise<number> {
    const index = this.diagnostics.get(uri)?.length ?? 0;
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [{ text }],
    });
    return index;
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  /** Opens a document and resolves with the diagnostics the server publishes for it. */
  async openAndWaitForDiagnostics(uri: string, text: string, timeoutMs = 5000): Promise<Diagnostic[]> {
    const index = await this.open(uri, text);
    return this.waitForDiagnostics(uri, index, timeoutMs);
  }

  /**
   * Resolves with publication number `index` (0-based) of diagnostics for `uri`, or rejects after
   * `timeoutMs` with a message listing what the server did publish and log.
   */
  waitForDiagnostics(uri: string, index = 0, timeoutMs = 5000): Promise<Diagnostic[]> {
    const have = this.diagnostics.get(uri);
    if (have && have.length > index) return Promise.resolve(have[index]!);
    if (this.exitCode !== null || this.exitSignal !== null) {
      return Promise.reject(new Error(this.describeFailure(`diagnostics for ${uri}`, 'the server has exited')));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        index,
        resolve,
        reject,
        timer: setTimeout(() => {
          const list = this.waiters.get(uri) ?? [];
          list.splice(list.indexOf(waiter), 1);
          reject(new Error(this.describeFailure(`textDocument/publishDiagnostics #${index + 1} for ${uri}`, `no publication within ${timeoutMs} ms`)));
        }, timeoutMs),
      };
      const list = this.waiters.get(uri) ?? [];
      list.push(waiter);
      this.waiters.set(uri, list);
    });
  }

  /** textDocument/completion, normalised to a list of items. */
  async completion(uri: string, position: Position, timeoutMs = 5000): Promise<CompletionItem[]> {
    const result = await this.withTimeout(
      this.connection.sendRequest<CompletionList | CompletionItem[] | null>('textDocument/completion', {
        textDocument: { uri },
        position,
        context: { triggerKind: 1 },
      }),
      timeoutMs,
      `the textDocument/completion response for ${uri} at ${position.line}:${position.character}`,
    );
    if (!result) return [];
    return Array.isArray(result) ? result : result.items;
  }

  /** shutdown + exit, then waits for the process to end; kills it if it does not within timeoutMs. */
  async shutdown(timeoutMs = 3000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.exitCode === null && this.exitSignal === null) {
      try {
        await this.withTimeout(this.connection.sendRequest('shutdown'), timeoutMs, 'the shutdown response');
        await this.connection.sendNotification('exit');
        await this.withTimeout(this.exited, timeoutMs, 'the server process to exit after `exit`');
      } finally {
        this.kill();
      }
    }
    return { code: this.exitCode, signal: this.exitSignal };
  }

  /** Idempotent hard stop: disposes the connection and SIGKILLs the process if still alive. */
  kill(): void {
    if (!this.disposed) {
      this.disposed = true;
      this.connection.dispose();
    }
    if (this.exitCode === null && this.exitSignal === null && !this.process.killed) {
      this.process.kill('SIGKILL');
    }
    this.failAllWaiters('the client was killed');
  }

  /** Waits until `predicate` holds (checked on every message from the server and every 20 ms). */
  private waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const tick = (): void => {
        if (predicate()) return resolve();
        if (this.exitCode !== null || this.exitSignal !== null) {
          return reject(new Error(this.describeFailure(what, 'the server exited')));
        }
        if (Date.now() - started > timeoutMs) {
          return reject(new Error(this.describeFailure(what, `not seen within ${timeoutMs} ms`)));
        }
        setTimeout(tick, 20);
      };
      tick();
    });
  }

  private withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(this.describeFailure(what, `not received within ${timeoutMs} ms`))), timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private failAllWaiters(reason: string): void {
    for (const [uri, list] of this.waiters) {
      for (const w of list) {
        clearTimeout(w.timer);
        w.reject(new Error(this.describeFailure(`diagnostics for ${uri}`, reason)));
      }
    }
    this.waiters.clear();
  }

  /** A failure message with enough context to debug without re-running. */
  describeFailure(what: string, why: string): string {
    const published = [...this.diagnostics].map(([uri, pubs]) => `  ${uri}: ${pubs.length} publication(s), last: ${JSON.stringify(pubs.at(-1))}`);
    return [
      `yaml-language-server: waiting for ${what}: ${why}.`,
      `diagnostics published so far:${published.length ? `\n${published.join('\n')}` : ' none'}`,
      `configuration sections pulled: ${JSON.stringify(this.configurationRequests.map((i) => i.section))}`,
      `server log (last 10): ${JSON.stringify(this.logMessages.slice(-10))}`,
      `server stderr (last 2000 chars): ${JSON.stringify(this.stderr.slice(-2000))}`,
      `process: exit code ${this.exitCode}, signal ${this.exitSignal}`,
    ].join('\n');
  }
}
