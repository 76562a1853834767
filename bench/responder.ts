// A raw NATS responder in its own process: the baseline that wfmesh's dispatch is compared with.
import { connect } from 'nats';

const [url, subject] = process.argv.slice(2);
const nc = await connect({ servers: url! });
nc.subscribe(subject!, { callback: (_err, msg) => msg.respond(msg.data) });
await nc.flush();
process.stdout.write('ready\n');
process.on('SIGTERM', () => void nc.close().then(() => process.exit(0)));
