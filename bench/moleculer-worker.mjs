// A Moleculer 0.14 worker in its own process (plain JavaScript, as a Moleculer user runs one): the
// peer wfmesh is compared with. NATS transporter, JSON serializer, metrics and tracing off.
// Arguments: NATS URL, node ID. Prints "ready" once its service is published.
import moleculer from 'moleculer';

const [url, nodeID] = process.argv.slice(2);
const broker = new moleculer.ServiceBroker({
  nodeID,
  transporter: { type: 'NATS', options: { servers: [url] } },
  serializer: 'JSON',
  metrics: false,
  tracing: false,
  logger: false,
});
broker.createService({ name: 'bench', actions: { echo: (ctx) => ({ message: ctx.params.message }) } });
await broker.start();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void broker.stop().then(() => process.exit(0)));
