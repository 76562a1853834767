import { fetchMeshView } from '../../mesh/view-client.js';
import { MeshError } from '../../protocol/errors.js';
import { cancelInMesh, ExecutionStore } from '../../store/index.js';
import { boolFlag, stringFlag, type CliCommand } from '../command.js';
import { withNats } from '../client.js';

export const cancelCommand: CliCommand = {
  name: 'cancel',
  summary: 'cancel an execution wherever it runs (its in-flight steps stop)',
  usage: 'ID [--json] [--nats URL]',
  options: { nats: { type: 'string' }, json: { type: 'boolean' } },
  async run(args, io) {
    const [id, ...extra] = args.positionals;
    if (!id || extra.length) throw new MeshError('USAGE', 'name exactly one execution id');
    return withNats(stringFlag(args, 'nats'), 'cancel', async (nc) => {
      const view = await fetchMeshView(nc);
      const live = new Set((view?.nodes ?? []).map((n) => n.name));
      const result = await cancelInMesh(nc, new ExecutionStore(nc), id, 'cancelled with `wfmesh cancel`', (name) => live.has(name));
      if (boolFlag(args, 'json')) io.out(JSON.stringify(result));
      else io.out(`${result.execution_id} ${result.status}`);
      return 0;
    });
  },
};
