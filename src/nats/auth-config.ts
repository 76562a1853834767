import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { nkeys } from 'nats';
import { MeshError } from '../protocol/errors.js';
import { subjectToken } from '../protocol/subjects.js';
import { clientPermissions, inboxPrefix, nodePermissions, type NatsPermissions } from './permissions.js';

export interface MeshAuthPlan {
  /** Node names: each gets its own credentials and may speak only as itself. */
  nodes: string[];
  /** Client names (`wfmesh run`, `nodes`, `executions`, `cancel`, dashboards): ask and read only. */
  clients: string[];
  /** Folder for the seeds and the config fragment. */
  outDir: string;
  /** Write the account `NAME { jetstream: enabled, users }` (to include inside `accounts {}`) instead of `authorization {}`. */
  account?: string;
  /** The KV buckets clients may read (the mesh's execution records and saved workflows). */
  buckets: readonly string[];
}

export interface MeshAuthUser {
  name: string;
  role: 'node' | 'client';
  publicKey: string;
  seedFile: string;
  /** Whether the seed was made now (false: an existing seed file was kept). */
  created: boolean;
  permissions: NatsPermissions;
}

export interface MeshAuthResult {
  configFile: string;
  users: MeshAuthUser[];
}

/** Reads `<name>.nk` when it exists (re-running keeps credentials), or makes and writes a new user seed. */
function userKey(outDir: string, name: string): { publicKey: string; seedFile: string; created: boolean } {
  const seedFile = join(outDir, `${name}.nk`);
  if (existsSync(seedFile)) {
    const seed = readFileSync(seedFile, 'utf8').trim();
    try {
      return { publicKey: nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey(), seedFile, created: false };
    } catch (err) {
      throw new MeshError('CONFIG_INVALID', `${seedFile} does not hold an nkey seed (${(err as Error).message}): remove it to make a new one`);
    }
  }
  const kp = nkeys.createUser();
  writeFileSync(seedFile, `${new TextDecoder().decode(kp.getSeed())}\n`, { mode: 0o600 });
  chmodSync(seedFile, 0o600);
  return { publicKey: kp.getPublicKey(), seedFile, created: true };
}

const q = (s: string) => JSON.stringify(s);
const list = (items: string[], pad: string) => `[\n${items.map((i) => `${pad}  ${q(i)}`).join('\n')}\n${pad}]`;

function renderUser(u: MeshAuthUser, pad: string): string {
  const p = u.permissions;
  return [
    `${pad}# ${u.role} ${u.name}: NATS_NKEY=${u.seedFile}`,
    `${pad}{`,
    `${pad}  nkey: ${q(u.publicKey)}`,
    `${pad}  permissions: {`,
    `${pad}    publish: { allow: ${list(p.publish.allow, `${pad}    `)} }`,
    `${pad}    subscribe: { allow: ${list(p.subscribe.allow, `${pad}    `)} }`,
    `${pad}  }`,
    `${pad}}`,
  ].join('\n');
}

/** The nats-server configuration fragment (to `include` from the server's config). */
export function renderAuthConfig(users: MeshAuthUser[], account?: string): string {
  const header = [
    '# wfmesh mesh identities, written by `wfmesh auth nats-config` (docs/security.md).',
    account
      ? `# Put it beside nats-server.conf and include it inside the accounts block:  accounts { include "wfmesh-auth.conf" ... }`
      : '# Put it beside nats-server.conf and include it at the top level:  include "wfmesh-auth.conf"',
    '# Each node logs in with its own nkey and may speak only as itself; clients may only ask and read.',
    '',
  ].join('\n');
  if (account) {
    // One account, to include inside the server's `accounts { }` block beside SYS and the rest.
    const pad = '    ';
    return `${header}${account} {\n  jetstream: enabled\n  users: [\n${users.map((u) => renderUser(u, pad)).join('\n')}\n  ]\n}\n`;
  }
  const pad = '    ';
  return `${header}authorization {\n  users: [\n${users.map((u) => renderUser(u, pad)).join('\n')}\n  ]\n}\n`;
}

/**
 * Makes (or keeps) one nkey per node and client in `outDir` (`<name>.nk`, mode 0600) and writes
 * `wfmesh-auth.conf`, the users with their permissions. Names are subject tokens: they appear in
 * the subjects the permissions name.
 */
export function writeMeshAuth(plan: MeshAuthPlan): MeshAuthResult {
  const all = [...plan.nodes, ...plan.clients];
  if (plan.nodes.length === 0) throw new MeshError('USAGE', '--nodes: name at least one node (e.g. --nodes node-1,node-2,node-3)');
  for (const name of all) {
    try {
      subjectToken(name, 'name');
    } catch {
      throw new MeshError('USAGE', `"${name}": node and client names may use letters, digits, "_" and "-" only (they are part of NATS subjects)`);
    }
  }
  const dup = all.find((n, i) => all.indexOf(n) !== i);
  if (dup) throw new MeshError('USAGE', `"${dup}" is named twice: every node and client needs a name of its own`);
  if (plan.account !== undefined && !/^[A-Za-z0-9_-]+$/.test(plan.account)) throw new MeshError('USAGE', `--account "${plan.account}": letters, digits, "_" and "-" only`);

  const outDir = resolve(plan.outDir);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const inboxes = all.map(inboxPrefix);
  const users: MeshAuthUser[] = [
    ...plan.nodes.map((name) => ({ name, role: 'node' as const, ...userKey(outDir, name), permissions: nodePermissions(name, inboxes) })),
    ...plan.clients.map((name) => ({ name, role: 'client' as const, ...userKey(outDir, name), permissions: clientPermissions(name, plan.buckets) })),
  ];
  const configFile = join(outDir, 'wfmesh-auth.conf');
  writeFileSync(configFile, renderAuthConfig(users, plan.account), { mode: 0o600 });
  return { configFile, users };
}
