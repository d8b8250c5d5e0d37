/**
 * The editor experience: the real yaml-language-server, spawned over stdio and driven like an
 * editor drives it, must pick the committed JSON Schema up from a spec's modeline
 * (`# yaml-language-server: $schema=../schema/modelspec.schema.json`), report a misspelt conv2d
 * attribute on its own line, stay silent on a valid spec and complete conv2d's attributes.
 *
 * The documents live in a temporary workspace laid out like the repo (specs/ next to a copy of
 * schema/), so the modeline is used verbatim. The machine is offline: the schema store is
 * disabled in the settings, and test/lsp/no-network.cjs makes any connection attempt by the
 * server fail at once and leave a trace on stderr, which the last test asserts is empty.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileUri, NO_NETWORK_MARKER, YamlLanguageClient, type Diagnostic } from './lsp/client.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA = join(REPO, 'schema', 'modelspec.schema.json');
const MODELINE = '# yaml-language-server: $schema=../schema/modelspec.schema.json';

/** Diagnostics must arrive this fast (the server debounces validation by 200 ms). */
const DIAGNOSTICS_TIMEOUT_MS = 5000;

/** A valid spec except for `filtres`, on 0-based line TYPO_LINE (line 8 in an editor). */
const TYPO_SPEC_LINES = [
  MODELINE,
  'modelspec: 1',
  'name: typo_cnn',
  'inputs:',
  '  image: {shape: [28, 28, 1]}',
  'layers:',
  '  - conv2d:',
  '      filtres: 32',
  '      kernel_size: 3',
  '      activation: relu',
  '  - max_pooling2d: {}',
  '  - flatten: {}',
  '  - dense: {units: 10, activation: softmax}',
];
const CONV2D_LINE = 6;
const TYPO_LINE = 7;
const TYPO_SPEC = `${TYPO_SPEC_LINES.join('\n')}\n`;
const FIXED_SPEC = TYPO_SPEC.replace('filtres: 32', 'filters: 32');

/** A spec being typed: the cursor is on the empty, indented line under `- conv2d:`. */
const COMPLETION_SPEC_LINES = [
  MODELINE,
  'modelspec: 1',
  'name: completing',
  'inputs:',
  '  image: {shape: [28, 28, 1]}',
  'layers:',
  '  - conv2d:',
  '      ',
  '  - flatten: {}',
];
const COMPLETION_POSITION = { line: 7, character: 6 };

const CONV2D_ATTRIBUTES = [
  'filters',
  'kernel_size',
  'strides',
  'padding',
  'dilation_rate',
  'activation',
  'use_bias',
  'kernel_initializer',
];

function show(diagnostics: Diagnostic[]): string {
  return JSON.stringify(
    diagnostics.map((d) => `${d.range.start.line}:${d.range.start.character} ${d.message}`),
    null,
    2,
  );
}

describe('yaml-language-server with the modelspec schema (stdio, like an editor)', () => {
  let workspace: string;
  let client: YamlLanguageClient | undefined;

  /** Writes a document under specs/ of the temporary workspace and returns its URI. */
  function specFile(name: string, text: string): string {
    const path = join(workspace, 'specs', name);
    writeFileSync(path, text);
    return fileUri(path);
  }

  function server(): YamlLanguageClient {
    if (!client) throw new Error('the language server did not start (see the beforeAll error)');
    return client;
  }

  beforeAll(async () => {
    workspace = mkdtempSync(join(tmpdir(), 'modelspec-lsp-'));
    mkdirSync(join(workspace, 'specs'));
    mkdirSync(join(workspace, 'schema'));
    copyFileSync(SCHEMA, join(workspace, 'schema', 'modelspec.schema.json'));
    client = await YamlLanguageClient.start({ workspaceRoot: workspace, timeoutMs: 10_000 });
  }, 15_000);

  afterAll(async () => {
    try {
      await client?.shutdown();
    } finally {
      client?.kill();
      if (workspace) rmSync(workspace, { recursive: true, force: true });
    }
  }, 10_000);

  it('initializes as yaml-language-server with completion support and pulls the yaml settings', () => {
    const c = server();
    expect(c.initializeResult?.serverInfo?.name).toBe('yaml-language-server');
    expect(c.initializeResult?.capabilities).toHaveProperty('completionProvider');
    expect(c.configurationRequests.map((i) => i.section)).toEqual(
      expect.arrayContaining(['yaml', 'http', '[yaml]', 'editor']),
    );
  });

  it('reports the misspelt conv2d attribute on its own line', async () => {
    expect(TYPO_SPEC_LINES[TYPO_LINE]).toBe('      filtres: 32');
    const diagnostics = await server().openAndWaitForDiagnostics(specFile('typo.yaml', TYPO_SPEC), TYPO_SPEC, DIAGNOSTICS_TIMEOUT_MS);

    const onTypoLine = diagnostics.filter((d) => d.range.start.line === TYPO_LINE);
    expect(onTypoLine, `diagnostics on line ${TYPO_LINE}: ${show(diagnostics)}`).toHaveLength(1);
    const typo = onTypoLine[0]!;
    expect(typo.message).toMatch(/\bfiltres\b/);
    expect(typo.message).toMatch(/not allowed/i); // 'Property filtres is not allowed.'
    expect(typo.severity).toBe(1);
    expect(typo.range).toEqual({ start: { line: TYPO_LINE, character: 6 }, end: { line: TYPO_LINE, character: 13 } });
    // The schema came from the modeline: the relative path resolved against the document.
    // (The source names the titled sub-schema that failed: the op's, "conv2d (Conv2D)".)
    expect(typo.source).toBe('yaml-schema: conv2d (Conv2D)');
    expect(typo.data).toMatchObject({ schemaUri: [fileUri(join(workspace, 'schema', 'modelspec.schema.json'))] });

    // Nothing else in the spec is wrong. The only other diagnostic allowed is the direct
    // consequence of the typo: conv2d now lacks its required `filters` (reported on `conv2d:`).
    const others = diagnostics.filter((d) => d !== typo);
    for (const d of others) {
      expect(d.range.start.line, `unexpected diagnostic: ${show([d])}\nall: ${show(diagnostics)}`).toBe(CONV2D_LINE);
      expect(d.message, `unexpected diagnostic: ${show([d])}`).toMatch(/missing property "?filters"?/i);
    }
    expect(diagnostics.filter((d) => /filtres/.test(d.message))).toEqual([typo]);
  });

  it('reports nothing for the same spec with the attribute spelt right', async () => {
    const diagnostics = await server().openAndWaitForDiagnostics(specFile('fixed.yaml', FIXED_SPEC), FIXED_SPEC, DIAGNOSTICS_TIMEOUT_MS);
    expect(diagnostics, show(diagnostics)).toEqual([]);
  });

  // siamese: share: of a block call; densenet-bc: shape()/channels() in expressions (issue #15).
  it.each(['mnist-cnn.yaml', 'siamese.yaml', 'densenet-bc.yaml'])('reports nothing for specs/%s', async (name) => {
    const text = readFileSync(join(REPO, 'specs', name), 'utf8');
    expect(text.startsWith(MODELINE)).toBe(true);
    const diagnostics = await server().openAndWaitForDiagnostics(specFile(name, text), text, DIAGNOSTICS_TIMEOUT_MS);
    expect(diagnostics, show(diagnostics)).toEqual([]);
  });

  it("completes conv2d's attributes inside a conv2d mapping", async () => {
    const text = `${COMPLETION_SPEC_LINES.join('\n')}\n`;
    const uri = specFile('completing.yaml', text);
    // Open it as an editor would and let the server validate it (which also loads the schema).
    await server().openAndWaitForDiagnostics(uri, text, DIAGNOSTICS_TIMEOUT_MS);

    const items = await server().completion(uri, COMPLETION_POSITION);
    const labels = items.map((i) => i.label);
    expect(labels, `completion labels: ${JSON.stringify(labels)}`).toEqual(expect.arrayContaining(CONV2D_ATTRIBUTES));
    for (const name of CONV2D_ATTRIBUTES) {
      const item = items.find((i) => i.label === name)!;
      expect(item.kind, `${name} should be a property completion`).toBe(10);
      expect(item.insertText ?? '', `${name} inserts a key`).toMatch(new RegExp(`^${name}:`));
    }
    // Scoped to conv2d: neither top-level keys nor other layers' attributes are offered.
    expect(labels).not.toContain('modelspec');
    expect(labels).not.toContain('layers');
    expect(labels).not.toContain('units');
    expect(labels).not.toContain('rate');
  });

  it('never touched the network, logged no schema problem and shuts down cleanly', async () => {
    const c = server();
    expect(c.stderr.split('\n').filter((l) => l.includes(NO_NETWORK_MARKER))).toEqual([]);
    expect(c.logMessages.filter((m) => /schema|unable|error|fail/i.test(m))).toEqual([]);
    expect(c.unexpectedRequests.map((r) => r.method)).toEqual([]);
    const { code, signal } = await c.shutdown();
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
