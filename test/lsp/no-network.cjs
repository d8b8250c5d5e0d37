// Preloaded into the yaml-language-server process by test/lsp/client.ts (node --require).
// The test machine is offline, and the server must never need the network for a modelspec
// (the schema comes from the modeline, the schema store is disabled). Instead of letting an
// accidental fetch hang on DNS or a TCP timeout, every outbound connection and DNS lookup
// fails at once and is reported on stderr with a marker the test asserts is absent.
'use strict';
const net = require('node:net');
const dns = require('node:dns');

const MARKER = '[lsp-test:no-network]';

function report(what) {
  try {
    process.stderr.write(`${MARKER} blocked ${what}\n`);
  } catch {
    // stderr closed: nothing to report to
  }
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  const first = args[0];
  let target;
  if (Array.isArray(first)) target = JSON.stringify(first[0]);
  else if (first && typeof first === 'object') target = `${first.host ?? first.path ?? '?'}:${first.port ?? ''}`;
  else target = `${args[1] ?? 'localhost'}:${first}`;
  report(`outbound connection to ${target}`);
  process.nextTick(() => this.destroy(new Error(`${MARKER} network disabled in the LSP test (${target})`)));
  return this;
};
// Keep a reference so nobody can tell the patch from a missing prototype method.
net.Socket.prototype.connect.original = originalConnect;

dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  report(`DNS lookup of ${hostname}`);
  const err = Object.assign(new Error(`${MARKER} DNS disabled in the LSP test (${hostname})`), { code: 'ENOTFOUND' });
  process.nextTick(() => cb(err));
  return {};
};
dns.promises.lookup = async function lookup(hostname) {
  report(`DNS lookup of ${hostname}`);
  throw Object.assign(new Error(`${MARKER} DNS disabled in the LSP test (${hostname})`), { code: 'ENOTFOUND' });
};

module.exports = { MARKER };
