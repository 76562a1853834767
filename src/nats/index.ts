export { freePort } from './ports.js';
export {
  findNatsServerBinary,
  startNatsServer,
  startNatsCluster,
  type NatsServerOptions,
  type NatsServerProcess,
  type NatsCluster,
  type NatsClusterOptions,
} from './server-launcher.js';
export { CLIENT_CONNECTION, connectNats, compileConnectionOptions, NODE_CONNECTION, type NatsConnectionSettings } from './connection.js';
export { clientPermissions, inboxPrefix, nodePermissions, type NatsPermissions } from './permissions.js';
