import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { connect, createInbox, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from 'nats';
import { MeshError } from '../protocol/errors.js';

/** How to reach and authenticate to the NATS cluster (from config, env and flags, compiled once). */
export interface NatsConnectionSettings {
  servers: string[];
  token?: string;
  user?: string;
  pass?: string;
  /** Path to a .creds file (JWT + nkey seed). */
  creds?: string;
  /** Path to a file holding an nkey seed (`SU...`), for servers with nkey users. */
  nkey?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /**
   * Where replies to this connection's requests arrive (`_INBOX_<name>`, see permissions.ts): with
   * per-user NATS permissions a connection may subscribe to its own inbox only. Default `_INBOX`.
   */
  inboxPrefix?: string;
}

/** How a connection checks that its server still answers when nothing else tells (nats.js pings). */
export interface ConnectionLiveness {
  pingIntervalMs: number;
  maxPingOut: number;
}

/** A client's (`wfmesh run` and the like): a server that stopped answering is left within 15 s. */
export const CLIENT_CONNECTION: ConnectionLiveness = { pingIntervalMs: 5_000, maxPingOut: 3 };

/**
 * A node's: its membership probes notice a server that stopped answering sooner (an unanswered
 * probe makes it ask its server for a PONG: src/mesh/prober.ts), so nats.js's own pings are only
 * the last resort, and rare: each wakes an idle node twice (the ping and its PONG).
 */
export const NODE_CONNECTION: ConnectionLiveness = { pingIntervalMs: 30_000, maxPingOut: 2 };

/** Turns settings into nats.js options; reads the creds file here so a bad path fails early. */
export function compileConnectionOptions(settings: NatsConnectionSettings, name: string, liveness = CLIENT_CONNECTION): ConnectionOptions {
  if (settings.servers.length === 0) throw new MeshError('CONFIG_INVALID', 'nats.servers: at least one server URL is needed');
  const opts: ConnectionOptions = {
    servers: settings.servers,
    name,
    timeout: 5_000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: liveness.pingIntervalMs,
    maxPingOut: liveness.maxPingOut,
    // Otherwise nats.js builds an Error with a stack trace for every request() (~30 µs each, a
    // third of a busy caller's CPU) just in case it fails; our failures name their step instead.
    noAsyncTraces: true,
  };
  if (settings.token) opts.token = settings.token;
  if (settings.inboxPrefix) opts.inboxPrefix = settings.inboxPrefix;
  if (settings.user !== undefined) {
    opts.user = settings.user;
    opts.pass = settings.pass ?? '';
  }
  if (settings.creds) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(settings.creds);
    } catch (err) {
      throw new MeshError('CONFIG_INVALID', `nats.creds: cannot read ${settings.creds}: ${(err as Error).message}`);
    }
    opts.authenticator = credsAuthenticator(creds);
  }
  if (settings.nkey && !settings.creds) {
    let seed: string;
    try {
      seed = readFileSync(settings.nkey, 'utf8').trim();
    } catch (err) {
      throw new MeshError('CONFIG_INVALID', `nats.nkey: cannot read ${settings.nkey}: ${(err as Error).message}`);
    }
    if (!/^SU[A-Z2-7]{56}$/.test(seed)) throw new MeshError('CONFIG_INVALID', `nats.nkey: ${settings.nkey} does not hold a user nkey seed (SU...)`);
    opts.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  }
  // A tls:// URL means "TLS or nothing": without this, nats.js would talk plain text to a server
  // that does not offer TLS.
  if (settings.servers.some((s) => s.startsWith('tls://'))) opts.tls = {};
  if (settings.tls) {
    opts.tls = {
      ...(settings.tls.ca ? { caFile: settings.tls.ca } : {}),
      ...(settings.tls.cert ? { certFile: settings.tls.cert } : {}),
      ...(settings.tls.key ? { keyFile: settings.tls.key } : {}),
    };
  }
  return opts;
}

/**
 * Connects, turning the first connection's failures into clear MeshErrors instead of hangs:
 * wrong credentials → NATS_AUTH, nobody listening or TLS trouble → NATS_CONNECT.
 */
export async function connectNats(settings: NatsConnectionSettings, name: string, liveness = CLIENT_CONNECTION): Promise<NatsConnection> {
  const opts = compileConnectionOptions(settings, name, liveness);
  const where = settings.servers.join(',');
  try {
    return await connect(opts);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const message = (err as Error).message ?? String(err);
    if (/AUTHORIZATION|AUTHENTICATION|PERMISSIONS/i.test(code) || /authorization|authentication/i.test(message)) {
      throw new MeshError('NATS_AUTH', `NATS at ${where} refused our credentials (${message}); check the token, user/password or creds file`);
    }
    if (code === 'CONNECTION_REFUSED') {
      throw new MeshError('NATS_CONNECT', `no NATS server answers at ${where} (connection refused); start one with \`wfmesh up\` or set --nats / NATS_URL`);
    }
    if (code === 'SERVER_OPT_NA' && message === 'tls') {
      throw new MeshError('NATS_CONNECT', `NATS at ${where} does not offer TLS, but a tls:// URL or nats.tls asks for it`);
    }
    if (/certificate|self[- ]signed|SSL|TLS/i.test(message)) {
      throw new MeshError('NATS_CONNECT', `TLS with NATS at ${where} failed (${message}); check tls:// and the CA, certificate and key (NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY or nats.tls)`);
    }
    if (code === 'TIMEOUT') {
      throw new MeshError('NATS_CONNECT', `no NATS handshake with ${where} within ${opts.timeout} ms: is it a NATS server, and does it want a TLS client certificate (NATS_TLS_CERT, NATS_TLS_KEY)?`);
    }
    throw new MeshError('NATS_CONNECT', `cannot connect to NATS at ${where}: ${message}`);
  }
}

/** The inbox prefix `nc` was opened with (`_INBOX` unless set: permissions may allow only its own). */
function inboxPrefixOf(nc: NatsConnection): string | undefined {
  return (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
}

/** A new inbox under the connection's own prefix (permissions may allow only that one). */
export function connectionInbox(nc: NatsConnection): string {
  return createInbox(inboxPrefixOf(nc));
}

/** Random bytes in the one inbox token of shortInbox (40 bits, from the operating system's CSPRNG). */
const SHORT_INBOX_BYTES = 5;

/**
 * A new inbox under the connection's own prefix, like connectionInbox, with a shorter unique part:
 * 7 characters (40 random bits) instead of nats.js's 22-character NUID. For a subscription that
 * lives as long as its connection and whose subject every message carries (the Requester's
 * replies): a request's reply subject is read six times on its way (by the client's parser and
 * by every nats-server, byte by byte: once as the request's reply, once as the reply's subject).
 * Measured over three servers, 64 in flight, a node's inbox (`_INBOX_<name>`): 11 characters
 * instead of 22 gave ~5% more calls/s, 7 instead of 11 took 0.76 µs of CPU off each
 * request-reply (15.54 against 16.30). Connections sharing a prefix (`_INBOX` when none is set;
 * a node's own name otherwise) collide with odds of about n² / 2^41.
 */
export function shortInbox(nc: NatsConnection): string {
  return `${inboxPrefixOf(nc) ?? '_INBOX'}.${randomBytes(SHORT_INBOX_BYTES).toString('base64url')}`;
}
