#!/usr/bin/env node
// Local CouchDB-compatible test server for cloudant_odm.
//
// PouchDB (pouchdb-node + pouchdb-adapter-memory) behind express-pouchdb,
// mounted in an outer express app that adds the robustness the upstream
// pouchdb-server lacks: a CouchDB-style JSON error middleware, per-request
// error capture for asynchronous failures, and process-level handlers so a
// bad request can never take the server down. A few small shims in front of
// express-pouchdb make it answer like CouchDB 3.x where it does not (design
// docs in COPY and index DELETE paths, POST _changes?filter=_selector, _find
// bookmarks and execution_stats): see "CouchDB compatibility shims" below.
//
// Usage:
//   node server.js [--port N] [--memory | --data DIR] [--verbose] [--exit-with-parent]
//
// Environment (used when the matching flag is absent):
//   COUCH_SERVER_PORT     port to listen on (default 5984; 0 = pick a free port)
//   COUCH_SERVER_DATA     LevelDB data directory (implies --data)
//   COUCH_SERVER_MEMORY   "1" = in-memory databases (the default without --data)
//   COUCH_SERVER_VERBOSE  "1" = log every request to stderr
//   COUCH_SERVER_REQUEST_TIMEOUT  seconds after which a request that is still
//                         unanswered gets a 500 (default 60; 0 = never). Feeds
//                         (_changes?feed=longpoll|continuous|eventsource) are exempt.
//
// --exit-with-parent makes the server shut down when the process that started
// it goes away (used by the pytest fixture, so a killed test run leaves no
// server behind).
//
// Once listening, one line is written to stdout (after the CREDENTIALS line, when the
// password was generated):
//   LISTENING http://127.0.0.1:PORT
// Everything else (logs, warnings) goes to stderr, so a parent process can
// read that line and then ignore stdout.
//
// Credentials (environment, read once and removed from the environment):
//   COUCH_SERVER_ADMIN_USER      the admin's name (default "admin")
//   COUCH_SERVER_ADMIN_PASSWORD  the admin's password; without it a random one is
//                                generated and printed on stdout, before LISTENING, as
//                                   CREDENTIALS <name> <password>
//
// The server always binds 127.0.0.1, and every request must authenticate (see
// "Authentication gate" below): anyone on the machine can reach a loopback port, and
// PouchDB runs map functions with vm.runInNewContext, which is no sandbox, so an
// unauthenticated design document would run code as the user running the tests.
// Behind the gate express-pouchdb itself stays in "admin party" mode (no server
// admins in its config): once one exists, express-pouchdb 4.2 throws on `PUT /db`
// from anyone but an admin, so do not create admins through /_config/admins.
// Regular `_users` users (created by the admin) can log in via POST /_session.
// What works and what does not: docs/compatibility.md.
'use strict';

const domain = require('domain');
const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const opts = {
    port: process.env.COUCH_SERVER_PORT !== undefined ? process.env.COUCH_SERVER_PORT : '5984',
    data: process.env.COUCH_SERVER_DATA || null,
    memory: process.env.COUCH_SERVER_MEMORY === '1',
    verbose: process.env.COUCH_SERVER_VERBOSE === '1',
    requestTimeout: Number(process.env.COUCH_SERVER_REQUEST_TIMEOUT || '60'),
    exitWithParent: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) {
        usage(`missing value for ${arg}`);
      }
      return argv[++i];
    };
    if (arg === '--port' || arg === '-p') {
      opts.port = value();
    } else if (arg.startsWith('--port=')) {
      opts.port = arg.slice('--port='.length);
    } else if (arg === '--memory') {
      opts.memory = true;
      opts.data = null;
    } else if (arg === '--data' || arg === '-d') {
      opts.data = value();
      opts.memory = false;
    } else if (arg.startsWith('--data=')) {
      opts.data = arg.slice('--data='.length);
      opts.memory = false;
    } else if (arg === '--verbose' || arg === '-v') {
      opts.verbose = true;
    } else if (arg === '--exit-with-parent') {
      opts.exitWithParent = true;
    } else if (arg === '--help' || arg === '-h') {
      usage(null);
    } else {
      usage(`unknown argument: ${arg}`);
    }
  }
  if (!/^\d+$/.test(String(opts.port)) || Number(opts.port) > 65535) {
    usage(`invalid port: ${opts.port}`);
  }
  opts.port = Number(opts.port);
  if (!Number.isFinite(opts.requestTimeout) || opts.requestTimeout < 0) {
    usage(`invalid COUCH_SERVER_REQUEST_TIMEOUT: ${process.env.COUCH_SERVER_REQUEST_TIMEOUT}`);
  }
  if (!opts.data) {
    opts.memory = true;
  }
  return opts;
}

function usage(error) {
  const text =
    'usage: server.js [--port N] [--memory | --data DIR] [--verbose] [--exit-with-parent]\n' +
    '  --port N     listen on 127.0.0.1:N (0 = any free port; default 5984)\n' +
    '  --memory     keep all databases in memory (default)\n' +
    '  --data DIR   store databases as LevelDB directories under DIR\n' +
    '  --verbose    log each request to stderr\n' +
    '  --exit-with-parent  stop when the parent process exits\n';
  if (error) {
    process.stderr.write(`couch-server: ${error}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

function log(message) {
  process.stderr.write(`[couch-server ${new Date().toISOString()}] ${message}\n`);
}

function describeError(err) {
  if (err && err.stack) {
    return err.stack;
  }
  try {
    return JSON.stringify(err);
  } catch (_) {
    return String(err);
  }
}

// Last line of defence: never let an exception or rejection escape to the
// default handler (which would terminate the process).
process.on('uncaughtException', (err) => {
  log(`uncaughtException (server keeps running): ${describeError(err)}`);
});
process.on('unhandledRejection', (reason) => {
  log(`unhandledRejection (server keeps running): ${describeError(reason)}`);
});

// CouchDB-style error body for an arbitrary thrown value.
function couchError(err) {
  let status = 500;
  let error = 'unknown_error';
  let reason = 'Internal Server Error';
  if (err) {
    const errStatus = Number(err.status || err.statusCode);
    if (errStatus >= 400 && errStatus < 600) {
      status = errStatus;
    }
    if (typeof err.error === 'string') {
      error = err.error;
    } else if (typeof err.name === 'string' && err.name !== 'Error') {
      error = err.name;
    } else if (status === 400) {
      error = 'bad_request';
    }
    if (typeof err.reason === 'string') {
      reason = err.reason;
    } else if (typeof err.message === 'string' && err.message) {
      reason = err.message;
    } else if (typeof err === 'string') {
      reason = err;
    }
  }
  return { status, body: { error, reason } };
}

// A JSON answer as CouchDB (and express-pouchdb) sends it: the JSON content type only
// when the client accepts it, text/plain otherwise.
function sendJson(req, res, status, body, headers) {
  res.status(status);
  for (const [name, value] of Object.entries(headers || {})) {
    res.setHeader(name, value);
  }
  const type = req.accepts(['text', 'json']) === 'json' ? 'application/json' : 'text/plain; charset=utf-8';
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'must-revalidate');
  res.end(JSON.stringify(body) + '\n');
}

function sendError(req, res, err) {
  const { status, body } = couchError(err);
  if (res.headersSent) {
    // Too late for a proper error response; make sure the client is not left
    // hanging on a half-written response.
    try {
      res.end();
    } catch (_) {
      // ignore
    }
    return;
  }
  try {
    sendJson(req, res, status, body);
  } catch (e) {
    log(`failed to send error response for ${req.method} ${req.originalUrl}: ${describeError(e)}`);
  }
}

// Close every database express-pouchdb has opened (flushes LevelDB cleanly).
function closeDatabases(PouchDB) {
  const closing = [];
  const cache = PouchDB.__dbCacheMap;
  if (cache && typeof cache.forEach === 'function') {
    cache.forEach((db) => {
      closing.push(
        Promise.resolve()
          .then(() => db.close())
          .catch(() => undefined),
      );
    });
  }
  return Promise.all(closing);
}

// ---------------------------------------------------------------------------
// CouchDB compatibility shims.
//
// Small middlewares, mounted before express-pouchdb, for places where
// express-pouchdb 4.2 answers differently from CouchDB 3.x. Each one either
// rewrites the request into a form express-pouchdb handles correctly, or adds
// what CouchDB would have put in the response. What is shimmed, and what is
// still missing: docs/compatibility.md (keep that page and POUCHDB_GAPS in
// tests/_server.py in step with this section).
// ---------------------------------------------------------------------------

// express-pouchdb's own JSON body parser: same size limit, same errors
// (400 invalid_json, 413 too_large, 415 for an unknown Content-Encoding), and
// gzip/deflate bodies are inflated. It marks the request as parsed, so the
// parser on express-pouchdb's route sees req.body and does not read again.
function couchJsonParser(req, res, next) {
  require('express-pouchdb/lib/utils').jsonParser(req, res, next);
}

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Raw (still percent-encoded) path segments: "/db/_design/x?rev=1" gives
// ["db", "_design", "x"].
function pathSegments(req) {
  return req.path.split('/').slice(1);
}

// Shim: design documents in COPY, ddocs in DELETE /{db}/_index/....
//
// express-pouchdb's COPY route is `/:db/:id`, and its index-delete route is
// `/:db/_index/:ddoc/:type/:name`: one path segment for the document id. So
// `COPY /db/_design/dd` and `DELETE /db/_index/_design/dd/json/name` fall
// through to other routes (404), and `DELETE /db/_index/dd/json/name` hands
// PouchDB a ddoc id without its `_design/` prefix (500). Rewrite the URL so
// the id is one segment, `_design%2Fdd`, which express-pouchdb decodes back to
// `_design/dd`. Like CouchDB's mango_httpd, a bare ddoc name in the index path
// gets the `_design/` prefix. The query string (`?rev=`) and the Destination
// header (read literally, as CouchDB does: `_design/dd2?rev=2-x` works) are
// untouched. GET/PUT/DELETE/HEAD of `/db/_design/dd` and its views already
// work: express-pouchdb has `(*)` routes for those.
function rewriteDesignDocPaths(req, res, next) {
  const parts = pathSegments(req);
  let target = null;
  if (req.method === 'COPY' && parts.length === 3 && parts[1] === '_design' && parts[2]) {
    target = [parts[0], `_design%2F${parts[2]}`];
  } else if (req.method === 'DELETE' && parts[1] === '_index' && parts.every(Boolean)) {
    if (parts.length === 6 && parts[2] === '_design') {
      target = [parts[0], '_index', `_design%2F${parts[3]}`, parts[4], parts[5]];
    } else if (parts.length === 5 && !/^_design%2F/i.test(parts[2])) {
      target = [parts[0], '_index', `_design%2F${parts[2]}`, parts[3], parts[4]];
    }
  }
  if (target) {
    const q = req.url.indexOf('?');
    req.url = '/' + target.join('/') + (q === -1 ? '' : req.url.slice(q));
    // express-pouchdb's vhost middleware rebuilds req.url from
    // req.originalUrl, so the rewrite has to go there too.
    req.originalUrl = req.url;
  }
  next();
}

// Shim: `POST /{db}/_changes?filter=_selector` with the selector in the body.
//
// express-pouchdb only looks at `selector` in the query string (where it is
// JSON-decoded along with the other parameters), so the POST form that CouchDB
// documents answered 404. Parse the body here and hand its selector over as the
// query parameter. Like CouchDB, the body's selector must be a JSON object,
// else 400 "Selector error: expected a JSON object". (A GET with
// `?selector=<json>` keeps working; CouchDB would refuse it.)
function changesSelectorFromBody(req, res, next) {
  const parts = pathSegments(req);
  if (
    req.method !== 'POST' ||
    parts.length !== 2 ||
    parts[1] !== '_changes' ||
    req.query.filter !== '_selector'
  ) {
    next();
    return;
  }
  couchJsonParser(req, res, () => {
    const selector = isPlainObject(req.body) ? req.body.selector : undefined;
    if (!isPlainObject(selector)) {
      sendError(req, res, {
        status: 400,
        error: 'bad_request',
        reason: 'Selector error: expected a JSON object',
      });
      return;
    }
    req.query.selector = JSON.stringify(selector);
    next();
  });
}

// Shim: `_find` bookmarks and `execution_stats`.
//
// PouchDB's find() has no bookmarks. CouchDB's contract is: every `_find`
// response has a `bookmark` string; sending it back with the same query gives
// the next page; past the end, `docs` is empty. Emulated with positions: the
// bookmark is base64url('{"skip":N}') (the client treats it as opaque), an
// incoming bookmark becomes a skip, and the response gets the position after
// the docs it returned. A `skip` sent along with a bookmark counts from the
// bookmark's position, as in CouchDB. Errors as CouchDB words them: a bookmark
// we did not make (or that is not a string) is 400 invalid_bookmark; a `skip`
// that is not a non-negative integer is 400 invalid_non_neg_integer (it has to
// be checked here, because it is added to the bookmark's position).
//
// With `execution_stats: true` the response gets CouchDB's stats object:
// results_returned and execution_time_ms are real; PouchDB does not report
// how many index rows or documents it read, so total_keys_examined and
// total_docs_examined are lower bounds (skip + docs returned), and
// total_quorum_docs_examined is 0 (as on a single node).
function encodeFindBookmark(position) {
  return Buffer.from(JSON.stringify({ skip: position })).toString('base64url');
}

// The position a bookmark stands for, or null if it is not one of ours.
function decodeFindBookmark(bookmark) {
  if (typeof bookmark !== 'string' || !/^[A-Za-z0-9_-]+$/.test(bookmark)) {
    return null;
  }
  let value;
  try {
    value = JSON.parse(Buffer.from(bookmark, 'base64url').toString('utf8'));
  } catch (_) {
    return null;
  }
  if (!isPlainObject(value) || !Number.isSafeInteger(value.skip) || value.skip < 0) {
    return null;
  }
  // Only the exact encoding we produce (base64url decoding is lenient).
  return encodeFindBookmark(value.skip) === bookmark ? value.skip : null;
}

function findBookmarks(req, res, next) {
  const parts = pathSegments(req);
  if (req.method !== 'POST' || parts.length !== 2 || parts[1] !== '_find') {
    next();
    return;
  }
  couchJsonParser(req, res, () => {
    const body = req.body;
    if (!isPlainObject(body)) {
      next(); // PouchDB's own error for a body that is not a query
      return;
    }
    let skip = 0;
    if (body.skip !== undefined) {
      if (!Number.isSafeInteger(body.skip) || body.skip < 0) {
        sendError(req, res, {
          status: 400,
          error: 'invalid_non_neg_integer',
          reason: `${JSON.stringify(body.skip)} is not an integer greater than or equal to zero`,
        });
        return;
      }
      skip = body.skip;
    }
    const bookmark = body.bookmark;
    delete body.bookmark;
    // null and "" mean "no bookmark" in CouchDB too.
    if (bookmark !== undefined && bookmark !== null && bookmark !== '') {
      const position = decodeFindBookmark(bookmark);
      if (position === null) {
        sendError(req, res, {
          status: 400,
          error: 'invalid_bookmark',
          reason: `Invalid bookmark value: ${JSON.stringify(bookmark)}`,
        });
        return;
      }
      skip += position;
      body.skip = skip;
    }
    const wantStats = body.execution_stats === true;
    const started = process.hrtime.bigint();

    // express-pouchdb answers with res.send(<Buffer of JSON>); its compression
    // middleware works further down (res.write/res.end), so the body seen here
    // is always plain JSON.
    const originalSend = res.send;
    res.send = function sendWithBookmark(payload) {
      res.send = originalSend;
      if (res.statusCode === 200 && (Buffer.isBuffer(payload) || typeof payload === 'string')) {
        let result = null;
        try {
          result = JSON.parse(payload.toString());
        } catch (_) {
          // not JSON: leave it alone
        }
        if (isPlainObject(result) && Array.isArray(result.docs)) {
          const returned = result.docs.length;
          result.bookmark = encodeFindBookmark(skip + returned);
          if (wantStats) {
            result.execution_stats = {
              total_keys_examined: skip + returned,
              total_docs_examined: skip + returned,
              total_quorum_docs_examined: 0,
              results_returned: returned,
              execution_time_ms: Number(process.hrtime.bigint() - started) / 1e6,
            };
          }
          payload = Buffer.from(JSON.stringify(result) + '\n', 'utf8');
        }
      }
      return originalSend.call(this, payload);
    };
    next();
  });
}

// ---------------------------------------------------------------------------
// Authentication gate.
//
// In front of everything: a request passes only with
//   - HTTP Basic credentials of the generated admin (or its AuthSession cookie, from
//     POST /_session with its name and password): it then reaches express-pouchdb
//     without credentials, which in admin party makes it a server admin;
//   - HTTP Basic credentials of another name: express-pouchdb checks them against
//     `_users` and answers 401 when they are wrong;
//   - an AuthSession cookie that express-pouchdb itself issued (to a `_users` user):
//     express-pouchdb ignores a cookie it does not know and would run the request
//     as anonymous, that is as admin, so only cookies it was seen to set pass;
//   - POST /_session (the login itself) and DELETE /_session (logout).
// Everything else is 401, as CouchDB answers with require_valid_user = true.
// ---------------------------------------------------------------------------

const crypto = require('crypto');

const SESSION_TIMEOUT_MS = 600 * 1000; // CouchDB's default [chttpd_auth] timeout
const MAX_SESSIONS = 10000;

function sameSecret(given, expected) {
  const a = crypto.createHash('sha256').update(String(given)).digest();
  const b = crypto.createHash('sha256').update(String(expected)).digest();
  return crypto.timingSafeEqual(a, b);
}

function basicCredentials(req) {
  const header = req.headers.authorization;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header || '');
  if (!match) {
    return null;
  }
  const text = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon === -1 ? null : { name: text.slice(0, colon), password: text.slice(colon + 1) };
}

function authSessionCookie(req) {
  const match = /(?:^|;\s*)AuthSession=([^;]*)/.exec(req.headers.cookie || '');
  return match && match[1] ? match[1] : null;
}

// Sessions: token -> expiry (ms). Oldest first in a Map, so trimming is cheap.
function sessionStore() {
  const sessions = new Map();
  return {
    add(token) {
      sessions.delete(token);
      sessions.set(token, Date.now() + SESSION_TIMEOUT_MS);
      while (sessions.size > MAX_SESSIONS) {
        sessions.delete(sessions.keys().next().value);
      }
    },
    has(token) {
      const expiry = sessions.get(token);
      if (expiry === undefined) {
        return false;
      }
      if (expiry < Date.now()) {
        sessions.delete(token);
        return false;
      }
      return true;
    },
    delete(token) {
      sessions.delete(token);
    },
  };
}

function authenticationGate(admin) {
  const adminSessions = sessionStore();
  const userSessions = sessionStore(); // cookies express-pouchdb set

  function isAdmin(credentials) {
    return (
      credentials !== null &&
      sameSecret(credentials.name, admin.name) &&
      sameSecret(credentials.password, admin.password)
    );
  }

  function unauthorized(req, res, reason) {
    sendError(req, res, { status: 401, error: 'unauthorized', reason });
  }

  function sessionInfo(authenticated) {
    return {
      ok: true,
      userCtx: { name: admin.name, roles: ['_admin'] },
      info: {
        authentication_handlers: ['cookie', 'default'],
        authentication_db: '_users',
        authenticated,
      },
    };
  }

  // Remember every AuthSession cookie express-pouchdb sets (it renews them).
  function recordIssuedCookies(res) {
    const setHeader = res.setHeader;
    res.setHeader = function recordingSetHeader(name, value) {
      if (String(name).toLowerCase() === 'set-cookie') {
        for (const cookie of [].concat(value)) {
          const match = /^AuthSession=([^;]*)/.exec(String(cookie));
          if (match && match[1]) {
            userSessions.add(match[1]);
          }
        }
      }
      return setHeader.apply(this, arguments);
    };
  }

  function asAdmin(req) {
    delete req.headers.authorization;
    delete req.headers.cookie;
  }

  function login(req, res, next) {
    const parse = req.is('application/x-www-form-urlencoded')
      ? require('express').urlencoded({ extended: false })
      : couchJsonParser;
    parse(req, res, () => {
      const body = isPlainObject(req.body) ? req.body : {};
      const credentials =
        typeof body.name === 'string' && typeof body.password === 'string'
          ? { name: body.name, password: body.password }
          : null;
      if (credentials !== null && sameSecret(credentials.name, admin.name)) {
        if (!isAdmin(credentials)) {
          unauthorized(req, res, 'Name or password is incorrect.');
          return;
        }
        const token = crypto.randomBytes(24).toString('base64url');
        adminSessions.add(token);
        sendJson(req, res, 200, { ok: true, name: admin.name, roles: ['_admin'] }, {
          'Set-Cookie': `AuthSession=${token}; Version=1; Path=/; HttpOnly`,
        });
        return;
      }
      recordIssuedCookies(res); // a `_users` user: express-pouchdb checks the password
      next();
    });
  }

  return function gate(req, res, next) {
    const parts = pathSegments(req);
    const isSession = parts.length === 1 && parts[0] === '_session';
    const cookie = authSessionCookie(req);
    if (isSession && req.method === 'POST') {
      login(req, res, next);
      return;
    }
    if (isSession && req.method === 'DELETE') {
      if (cookie !== null) {
        adminSessions.delete(cookie);
        userSessions.delete(cookie);
      }
      asAdmin(req);
      next();
      return;
    }
    const credentials = basicCredentials(req);
    let authenticated = null;
    if (credentials !== null) {
      if (isAdmin(credentials)) {
        authenticated = 'default';
      } else if (sameSecret(credentials.name, admin.name)) {
        unauthorized(req, res, 'Name or password is incorrect.');
        return;
      } else {
        // Another name: express-pouchdb checks it against _users (401 if wrong).
        recordIssuedCookies(res);
        next();
        return;
      }
    } else if (cookie !== null && adminSessions.has(cookie)) {
      adminSessions.add(cookie); // sliding expiry, like CouchDB's cookie renewal
      authenticated = 'cookie';
    } else if (cookie !== null && userSessions.has(cookie)) {
      recordIssuedCookies(res);
      next();
      return;
    }
    if (authenticated === null) {
      unauthorized(req, res, 'Authentication required.');
      return;
    }
    if (isSession && req.method === 'GET') {
      sendJson(req, res, 200, sessionInfo(authenticated));
      return;
    }
    asAdmin(req);
    next();
  };
}

function adminCredentials() {
  const name = process.env.COUCH_SERVER_ADMIN_USER || 'admin';
  let password = process.env.COUCH_SERVER_ADMIN_PASSWORD || '';
  const generated = !password;
  if (generated) {
    password = crypto.randomBytes(24).toString('base64url');
  }
  // Nothing the server runs later (map functions included) reads them from here.
  delete process.env.COUCH_SERVER_ADMIN_USER;
  delete process.env.COUCH_SERVER_ADMIN_PASSWORD;
  if (name.includes(':') || /\s/.test(name) || /\s/.test(password)) {
    usage('the admin name may not contain ":" or spaces, nor the password spaces');
  }
  return { name, password, generated };
}

function installCompatibilityShims(app) {
  app.use(rewriteDesignDocPaths);
  app.use(changesSelectorFromBody);
  app.use(findBookmarks);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const admin = adminCredentials();

  const express = require('express');
  const expressPouchDB = require('express-pouchdb');
  const PouchDBBase = require('pouchdb-node');
  PouchDBBase.plugin(require('pouchdb-adapter-memory'));

  // Choose the storage through the adapter preference list, not through a
  // forced `adapter` default: a forced adapter would also apply to http(s)://
  // database names, so replication to/from URLs would silently go to a local
  // database named after the URL instead of over HTTP.
  let PouchDB;
  let configPath;
  let logPath;
  if (opts.memory) {
    PouchDBBase.preferredAdapters = ['memory'];
    PouchDB = PouchDBBase.defaults({});
    logPath = '/dev/null';
  } else {
    const dataDir = path.resolve(opts.data);
    fs.mkdirSync(dataDir, { recursive: true });
    PouchDBBase.preferredAdapters = ['leveldb'];
    PouchDB = PouchDBBase.defaults({ prefix: dataDir + path.sep });
    configPath = path.join(dataDir, 'config.json');
    logPath = path.join(dataDir, 'log.txt');
  }

  const couchApp = expressPouchDB(PouchDB, {
    mode: 'fullCouchDB',
    // Never write config.json / log.txt into the current directory.
    inMemoryConfig: opts.memory,
    configPath,
    logPath,
  });

  const app = express();
  app.disable('x-powered-by');

  // Each request runs in its own domain: an exception thrown from a callback
  // deep inside PouchDB while serving it becomes a 500 for that request
  // instead of an uncaught exception with a client waiting forever.
  app.use((req, res, next) => {
    const d = domain.create();
    d.add(req);
    d.add(res);
    d.on('error', (err) => {
      log(`error while serving ${req.method} ${req.originalUrl}: ${describeError(err)}`);
      sendError(req, res, err);
    });
    d.run(next);
  });

  if (opts.verbose) {
    app.use((req, res, next) => {
      const started = Date.now();
      res.on('finish', () => {
        log(`${req.method} ${req.originalUrl} -> ${res.statusCode} (${Date.now() - started} ms)`);
      });
      next();
    });
  }

  // Watchdog: a request that PouchDB never answers (a swallowed error deep in a
  // plugin) gets a 500 instead of keeping the client waiting forever.
  if (opts.requestTimeout > 0) {
    const feeds = new Set(['longpoll', 'continuous', 'eventsource']);
    app.use((req, res, next) => {
      if (feeds.has(String(req.query.feed))) {
        next();
        return;
      }
      const timer = setTimeout(() => {
        log(`no answer after ${opts.requestTimeout}s: ${req.method} ${req.originalUrl}`);
        sendError(req, res, {
          status: 500,
          error: 'timeout',
          reason: `the test server did not answer within ${opts.requestTimeout}s`,
        });
      }, opts.requestTimeout * 1000);
      timer.unref();
      res.on('finish', () => clearTimeout(timer));
      res.on('close', () => clearTimeout(timer));
      next();
    });
  }

  // A URL that cannot be percent-decoded makes express' router throw before
  // any route runs; answer it the way CouchDB does.
  app.use((req, res, next) => {
    try {
      decodeURIComponent(req.path);
    } catch (_) {
      sendError(req, res, { status: 400, error: 'bad_request', reason: 'invalid_url_encoding' });
      return;
    }
    next();
  });

  app.use(authenticationGate(admin));
  installCompatibilityShims(app);

  app.use(couchApp);

  // Error middleware (4 arguments): anything passed to next(err) or thrown
  // synchronously by a route ends up here as a CouchDB-style JSON error.
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    log(`error in ${req.method} ${req.originalUrl}: ${describeError(err)}`);
    sendError(req, res, err);
  });

  const server = app.listen(opts.port, '127.0.0.1');
  server.on('error', (err) => {
    log(`cannot listen on 127.0.0.1:${opts.port}: ${describeError(err)}`);
    process.exit(1);
  });
  server.on('clientError', (err, socket) => {
    // Malformed HTTP (bad request line, bad headers...): reply 400, keep running.
    if (socket.writable && !socket.destroyed) {
      const body = JSON.stringify({ error: 'bad_request', reason: 'malformed_http_request' });
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
  });
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('listening', () => {
    const { port } = server.address();
    const where = opts.memory ? 'memory' : `leveldb:${path.resolve(opts.data)}`;
    log(`PouchDB server (${where}) listening on http://127.0.0.1:${port}`);
    if (admin.generated) {
      process.stdout.write(`CREDENTIALS ${admin.name} ${admin.password}\n`);
    }
    process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
  });

  let stopping = false;
  function shutdown(reason) {
    if (stopping) {
      return;
    }
    stopping = true;
    log(`shutting down (${reason})`);
    // Hard deadline, whatever happens below.
    setTimeout(() => process.exit(0), 3000).unref();
    server.close(() => {
      closeDatabases(PouchDB).then(() => process.exit(0));
    });
    // Keep-alive connections and long-poll / continuous _changes requests
    // would keep server.close() waiting.
    for (const socket of sockets) {
      socket.destroy();
    }
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  if (opts.exitWithParent) {
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) {
        shutdown('parent exit');
      }
    }, 1000).unref();
  }
}

main();
