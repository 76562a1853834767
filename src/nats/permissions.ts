import { subjects, subjectScopes, subjectToken } from '../protocol/subjects.js';

/**
 * NATS permissions for the two roles of a mesh, as nats-server `permissions` blocks.
 *
 * - A node publishes its own membership announcements only (`wfmesh.member.<name>.*`), probes any node, receives only the steps,
 *   executions and views addressed to its name, dispatches steps to any node, writes the KV
 *   buckets (JetStream API, `$KV.>`), answers the micro services API and reads the servers'
 *   connection lists of its account (to notice killed nodes: src/mesh/connection-watch.ts).
 * - A client (`wfmesh run`, `nodes`, `executions`, `cancel`, a dashboard) asks nodes to execute,
 *   reads views and records, follows events and cancels; it can neither heart-beat, nor send a
 *   step, nor write or delete a record, nor answer service discovery (so it cannot pose as a node).
 *
 * Every connection uses an inbox of its own (`_INBOX_<name>`), so it receives only replies to its
 * own requests, never another connection's step outputs.
 */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
}

/** The inbox prefix of the connection of user `name` (nats.js `inboxPrefix`). */
export function inboxPrefix(name: string): string {
  return `_INBOX_${subjectToken(name, 'user name')}`;
}

/**
 * Reading KV buckets: stream info, direct and stored message gets, and ordered consumers (watch,
 * keys), with their flow control and acks. NATS wildcards are whole tokens, so each bucket's
 * stream (`KV_<bucket>`) is named.
 */
function jsRead(buckets: readonly string[]): string[] {
  const perStream = buckets.flatMap((b) => {
    const stream = `KV_${subjectToken(b, 'bucket')}`;
    return [
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.MSG.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}`,
      `$JS.API.DIRECT.GET.${stream}.>`,
      `$JS.API.CONSUMER.CREATE.${stream}`,
      `$JS.API.CONSUMER.CREATE.${stream}.>`,
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.DELETE.${stream}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    ];
  });
  return ['$JS.API.INFO', '$JS.API.STREAM.NAMES', '$JS.API.STREAM.LIST', ...perStream, '$JS.FC.>', '$JS.ACK.>'];
}

/** Permissions of node `name`; `inboxes` are the inbox prefixes of every user it may answer. */
export function nodePermissions(name: string, inboxes: readonly string[]): NatsPermissions {
  return {
    publish: {
      allow: [
        subjectScopes.ofNode('member', name),
        subjectScopes.allNodes('probe'),
        subjectScopes.allNodes('step'),
        subjectScopes.allNodes('view'),
        subjectScopes.viewAny(),
        subjectScopes.allNodes('handover'),
        subjectScopes.cancel(),
        subjectScopes.lease(),
        subjectScopes.events(),
        subjectScopes.toolCalls(),
        subjectScopes.services(),
        subjects.accountConnections(),
        '$JS.API.>',
        '$KV.>',
        '$JS.FC.>',
        '$JS.ACK.>',
        ...inboxes.map((p) => `${p}.>`),
      ],
    },
    subscribe: {
      allow: [
        subjectScopes.allNodes('member'),
        subjectScopes.ofNode('probe', name),
        subjectScopes.viewAny(),
        subjectScopes.ofNode('step', name),
        subjectScopes.ofNode('execute', name),
        subjectScopes.ofNode('view', name),
        subjectScopes.ofNode('handover', name),
        subjectScopes.cancel(),
        subjectScopes.lease(),
        subjectScopes.events(),
        subjectScopes.toolCalls(),
        subjectScopes.services(),
        `${inboxPrefix(name)}.>`,
      ],
    },
  };
}

/** Permissions of client `name`, which may read the KV `buckets` (the mesh's: see src/store). */
export function clientPermissions(name: string, buckets: readonly string[]): NatsPermissions {
  return {
    publish: {
      allow: [subjectScopes.allNodes('execute'), subjectScopes.allNodes('view'), subjectScopes.viewAny(), subjectScopes.cancel(), ...subjectScopes.serviceDiscovery(), ...jsRead(buckets)],
    },
    subscribe: { allow: [subjectScopes.events(), `${inboxPrefix(name)}.>`] },
  };
}
