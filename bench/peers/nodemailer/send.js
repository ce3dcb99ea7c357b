#!/usr/bin/env node
// bench/run peer: Node.js nodemailer (installed from npm by bench/run into bench/node_modules).
//
// Used the way an application uses it: transporter.sendMail() per message, awaited, with the
// message given pre-built (`raw`) and the envelope given explicitly, so nodemailer sends the same
// bytes as every other peer and spends no time building MIME.
//   --mode reuse    pool: true, maxConnections: 1, maxMessages: Infinity (one reused connection;
//                   nodemailer's documented way to reuse a connection)
//   --mode pool     pool: true, maxConnections: --connections, 2 sends in flight per connection
//   --mode session  pool: false (nodemailer opens a new connection, and TLS session, per message)
// --tls: requireTLS (STARTTLS or fail), TLS 1.3 only, chain verified against --ca-file and the
// name against --servername.  Options and the JSON report ("elapsed" and "cpu" cover the sends
// only, from before the first connection to after the last) are the Python peers' (../peer_common.py).
'use strict';

const fs = require('fs');
const { performance } = require('perf_hooks');

function usage(msg) {
  process.stderr.write(`nodemailer peer: ${msg}\n`);
  process.exit(64);
}

function parseArgs(argv) {
  const args = {
    host: '127.0.0.1', port: 0, count: -1, message: null, from: 'bench@client.bench.test',
    to: 'sink@mx.bench.test', helo: 'client.bench.test', tls: false, caFile: null,
    servername: 'mx.bench.test', mode: 'reuse', connections: 1,
  };
  const valued = {
    '--host': 'host', '--port': 'port', '--count': 'count', '--message': 'message', '--from': 'from',
    '--to': 'to', '--helo': 'helo', '--ca-file': 'caFile', '--servername': 'servername',
    '--mode': 'mode', '--connections': 'connections',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tls') { args.tls = true; continue; }
    const key = valued[a];
    if (!key) usage(`unknown option ${a}`);
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    args[key] = argv[++i];
  }
  for (const k of ['port', 'count', 'connections']) {
    const n = Number(args[k]);
    if (!Number.isInteger(n)) usage(`--${k} wants an integer, got ${args[k]}`);
    args[k] = n;
  }
  if (args.port <= 0 || args.port > 65535) usage('--port is required (1..65535)');
  if (args.count < 0) usage('--count is required (>= 0)');
  if (args.connections < 1) usage('--connections must be >= 1');
  if (!['reuse', 'pool', 'session'].includes(args.mode)) usage(`--mode: reuse, pool or session, got ${args.mode}`);
  if (!args.message) usage('--message is required');
  if (args.tls && !args.caFile) usage('--tls needs --ca-file');
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const nodemailer = require('nodemailer');
  const version = require('nodemailer/package.json').version;
  const body = fs.readFileSync(args.message);

  const options = {
    host: args.host, port: args.port, name: args.helo, secure: false,
    connectionTimeout: 30000, greetingTimeout: 30000, socketTimeout: 30000,
  };
  if (args.tls) {
    options.requireTLS = true;
    options.tls = {
      ca: [fs.readFileSync(args.caFile)], servername: args.servername,
      minVersion: 'TLSv1.3', rejectUnauthorized: true,
    };
  } else {
    options.ignoreTLS = true;
  }
  if (args.mode === 'reuse') Object.assign(options, { pool: true, maxConnections: 1, maxMessages: Infinity });
  if (args.mode === 'pool') Object.assign(options, { pool: true, maxConnections: args.connections, maxMessages: Infinity });

  const transporter = nodemailer.createTransport(options);
  const mail = { envelope: { from: args.from, to: [args.to] }, raw: body };
  let accepted = 0;
  let error = null;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  try {
    if (args.mode === 'pool') {
      let next = 0;
      const worker = async () => {
        while (next < args.count) {
          next++;
          const info = await transporter.sendMail(mail);
          if (info.accepted.length === 1) accepted++;
        }
      };
      await Promise.all(Array.from({ length: Math.min(args.count, 2 * args.connections) }, worker));
    } else {
      for (let i = 0; i < args.count; i++) {
        const info = await transporter.sendMail(mail);
        if (info.accepted.length === 1) accepted++;
      }
    }
  } catch (e) {
    error = `${e.code || e.name}: ${e.message}`;
  }
  transporter.close();
  const elapsed = (performance.now() - start) / 1000;
  const cpuUsed = process.cpuUsage(cpuStart);
  const connections = args.mode === 'session' ? args.count : args.mode === 'pool' ? args.connections : 1;
  process.stdout.write(JSON.stringify({
    peer: 'nodemailer', version: `${version} (node ${process.versions.node})`, mode: args.mode,
    count: args.count, accepted, connections: args.count ? connections : 0,
    tls: args.tls && accepted ? { version: 'TLSv1.3', cipher: null } : null,
    elapsed: Number(elapsed.toFixed(6)), cpu: (cpuUsed.user + cpuUsed.system) / 1e6, error,
  }) + '\n');
  process.exitCode = accepted === args.count && error === null ? 0 : 1;
}

main().catch((e) => { process.stderr.write(`nodemailer peer: ${e.stack || e}\n`); process.exit(2); });
