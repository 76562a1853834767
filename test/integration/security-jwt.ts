/**
 * A tiny NATS operator/account/user JWT chain for testing `.creds` authentication against a real
 * nats-server in operator mode (what `nsc` makes in production), signed with nats.js's nkeys.
 */
import { createHash } from 'node:crypto';
import { nkeys } from 'nats';

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString('base64url');

function encodeJwt(signer: ReturnType<typeof nkeys.createUser>, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: signer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url').slice(0, 52).toUpperCase();
  const signingInput = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64url(JSON.stringify(claims))}`;
  return `${signingInput}.${b64url(signer.sign(new TextEncoder().encode(signingInput)))}`;
}

export interface OperatorSetup {
  /** Lines for the nats-server config: operator mode with an in-memory account resolver. */
  serverConfig: string;
  /** A valid .creds file's text for a user of the account. */
  userCreds: string;
  /** A .creds file's text for a user signed by an account the server does not know. */
  strangerCreds: string;
}

function credsFile(jwt: string, seed: Uint8Array): string {
  return [
    '-----BEGIN NATS USER JWT-----',
    jwt,
    '------END NATS USER JWT------',
    '',
    '************************* IMPORTANT *************************',
    'NKEY Seed printed below can be used to sign and prove identity.',
    'NKEYs are sensitive and should be treated as secrets.',
    '',
    '-----BEGIN USER NKEY SEED-----',
    new TextDecoder().decode(seed),
    '------END USER NKEY SEED------',
    '',
  ].join('\n');
}

const UNLIMITED_ACCOUNT = {
  type: 'account',
  limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
  default_permissions: { pub: {}, sub: {} },
};
const UNLIMITED_USER = { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 };

export function makeOperatorSetup(): OperatorSetup {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const stranger = nkeys.createAccount();
  const strangerUser = nkeys.createUser();
  const operatorJwt = encodeJwt(operator, operator.getPublicKey(), 'wfmesh-test-operator', { type: 'operator' });
  const accountJwt = encodeJwt(operator, account.getPublicKey(), 'WFMESH', UNLIMITED_ACCOUNT);
  const userJwt = encodeJwt(account, user.getPublicKey(), 'wfmesh-node', UNLIMITED_USER);
  const strangerJwt = encodeJwt(stranger, strangerUser.getPublicKey(), 'stranger', UNLIMITED_USER);
  return {
    serverConfig: [`operator: ${operatorJwt}`, 'resolver: MEMORY', `resolver_preload: { ${account.getPublicKey()}: ${accountJwt} }`].join('\n'),
    userCreds: credsFile(userJwt, user.getSeed()),
    strangerCreds: credsFile(strangerJwt, strangerUser.getSeed()),
  };
}
