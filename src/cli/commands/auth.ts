import { writeMeshAuth } from '../../nats/auth-config.js';
import { inboxPrefix } from '../../nats/permissions.js';
import { MeshError } from '../../protocol/errors.js';
import { EXECUTIONS_BUCKET, WORKFLOWS_BUCKET } from '../../store/index.js';
import { stringFlag, type CliCommand } from '../command.js';

const split = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** `wfmesh auth nats-config`: per-node and client NATS identities with the mesh's permissions. */
export const authCommand: CliCommand = {
  name: 'auth',
  summary: 'write the nats-server authorization for a mesh: one nkey per node and client, with permissions',
  usage: [
    'nats-config --nodes a,b,c [--clients cli] [--out DIR] [--account NAME]',
    '  writes DIR/wfmesh-auth.conf (include it from nats-server.conf) and DIR/<name>.nk (one seed per',
    '  user, mode 0600; existing seeds are kept). Nodes then run with NATS_NKEY=DIR/<name>.nk --name <name>;',
    '  clients with NATS_NKEY=DIR/<client>.nk NATS_INBOX_PREFIX=_INBOX_<client>. See docs/security.md.',
  ].join('\n'),
  options: {
    nodes: { type: 'string' },
    clients: { type: 'string' },
    out: { type: 'string' },
    account: { type: 'string' },
  },
  async run(args, io) {
    const sub = args.positionals[0];
    if (sub !== 'nats-config') throw new MeshError('USAGE', `wfmesh auth: unknown sub-command ${sub ? `"${sub}"` : '(none)'}; try: wfmesh auth nats-config --nodes a,b,c`);
    const clients = stringFlag(args, 'clients') === undefined ? ['client'] : split(stringFlag(args, 'clients'));
    const account = stringFlag(args, 'account');
    const result = writeMeshAuth({ nodes: split(stringFlag(args, 'nodes')), clients, outDir: stringFlag(args, 'out') ?? 'nats-auth', buckets: [EXECUTIONS_BUCKET, WORKFLOWS_BUCKET], ...(account ? { account } : {}) });
    io.out(result.configFile);
    io.err(
      [
        `wrote ${result.configFile} (${result.users.length} users): put it beside nats-server.conf and add  include "wfmesh-auth.conf"  ${account ? `inside its accounts { } block (it defines the account ${account})` : 'at its top level'} (include paths are relative to the including file)`,
        ...result.users.map((u) =>
          u.role === 'node'
            ? `  node   ${u.name.padEnd(12)} NATS_NKEY=${u.seedFile} wfmesh node --name ${u.name}${u.created ? '' : '   (seed kept)'}`
            : `  client ${u.name.padEnd(12)} NATS_NKEY=${u.seedFile} NATS_INBOX_PREFIX=${inboxPrefix(u.name)} wfmesh run|nodes|executions|cancel${u.created ? '' : '   (seed kept)'}`,
        ),
      ].join('\n'),
    );
    return 0;
  },
};
