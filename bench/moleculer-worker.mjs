// A Moleculer 0.14 worker in its own process (plain JavaScript, as a Moleculer user runs one): the
// peer wfmesh is compared with. NATS transporter, JSON serializer, metrics and tracing off.
// Arguments: NATS URL, node ID. Prints "ready" once its service is published. MOL_HEARTBEAT_S and
// MOL_HEARTBEAT_TIMEOUT_S set its heartbeat period and dead timeout (Moleculer's defaults: 10 and 30 s);
// MOL_NAMESPACE puts it in a mesh of its own (Moleculer's subjects are prefixed with the namespace).
import moleculer from 'moleculer';

const [url, nodeID] = process.argv.slice(2);
const broker = new moleculer.ServiceBroker({
  nodeID,
  transporter: { type: 'NATS', options: { servers: [url] } },
  serializer: 'JSON',
  metrics: false,
  tracing: false,
  logger: false,
  ...(process.env.MOL_NAMESPACE && { namespace: process.env.MOL_NAMESPACE }),
  ...(process.env.MOL_HEARTBEAT_S && { heartbeatInterval: Number(process.env.MOL_HEARTBEAT_S) }),
  ...(process.env.MOL_HEARTBEAT_TIMEOUT_S && { heartbeatTimeout: Number(process.env.MOL_HEARTBEAT_TIMEOUT_S) }),
});
broker.createService({ name: 'bench', actions: { echo: (ctx) => ({ message: ctx.params.message }) } });
await broker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void broker.stop().then(() => process.exit(0)));
