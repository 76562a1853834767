/**
 * Membership on the wire (SWIM-style, see docs/membership.md): announcements of joins, state
 * changes, suspicions and deaths on `subjects.members(sender)`, and probes between two nodes.
 * Load is not broadcast as it changes: a probe's answer carries the probed node's load. A joining
 * node's announcement carries its load and free memory at that moment, once, so that the mesh's
 * entry for it is not a placeholder until someone probes it (in an idle mesh, only its ring
 * predecessor does).
 */
import { z } from 'zod';
import { LoadSchema, NodeCapabilitiesSchema, NodeStateSchema } from './advert.js';

const about = { id: z.string(), name: z.string(), incarnation: z.number().int().nonnegative() };

/**
 * A node says it is alive (join, rejoin, refutation, state change): the only message that carries
 * capabilities. A refutation of a suspicion leaves them out (every node that holds the suspicion
 * knows the node; one that does not asks the node for them).
 */
export const AliveEventSchema = z.object({
  type: z.literal('wfmesh.member.v1'),
  kind: z.literal('alive'),
  ...about,
  state: NodeStateSchema,
  caps: NodeCapabilitiesSchema.optional(),
  /** With `caps`: the node's load and free memory as it announces itself (older versions send none). */
  live: z.object({ load: LoadSchema, memory_free_mib: z.number().int().nonnegative() }).optional(),
  /** The node has work: the mesh probes at its busy rate for the activity linger (see mesh/activity.ts). */
  busy: z.literal(true).optional(),
});
/**
 * The same message as first read: capabilities are checked (AliveEventSchema's `caps`) only by a
 * node that does not know the sender yet. A refutation is read by every node, and most of them
 * know the sender: at a thousand nodes that check was most of the cost of a mass rejoin.
 */
const AliveEnvelopeSchema = AliveEventSchema.extend({ caps: z.unknown().optional() });
/** `from` did not get an answer from the node: everyone gives it a suspicion period to refute (each further suspecter shortens it). */
export const SuspectEventSchema = z.object({
  type: z.literal('wfmesh.member.v1'),
  kind: z.literal('suspect'),
  ...about,
  from: z.string(),
  /** The server answered that nobody listens on its probe subject (its connection is gone). */
  sure: z.boolean().optional(),
});
/** The suspicion ran out without refutation (sent by the suspecting node only, for nodes that missed the suspicion). */
export const DeadEventSchema = z.object({ type: z.literal('wfmesh.member.v1'), kind: z.literal('dead'), ...about, from: z.string() });
/** A clean goodbye: the node leaves at once. */
export const LeftEventSchema = z.object({ type: z.literal('wfmesh.member.v1'), kind: z.literal('left'), ...about });

export const MemberEventSchema = z.discriminatedUnion('kind', [AliveEventSchema, SuspectEventSchema, DeadEventSchema, LeftEventSchema]);
export type MemberEvent = z.infer<typeof MemberEventSchema>;
/** What a node parses on receipt (capabilities of an `alive` still unchecked: see AliveEnvelopeSchema). */
export const MemberEnvelopeSchema = z.discriminatedUnion('kind', [AliveEnvelopeSchema, SuspectEventSchema, DeadEventSchema, LeftEventSchema]);
export type MemberEnvelope = z.infer<typeof MemberEnvelopeSchema>;
export type AliveEvent = z.infer<typeof AliveEventSchema>;

/** Order-independent summary of a member list: two nodes with the same digest know the same members. */
export const MembersDigestSchema = z.object({ count: z.number().int().nonnegative(), hash: z.number().int().nonnegative() });
export type MembersDigest = z.infer<typeof MembersDigestSchema>;

/**
 * A probe names its sender: a node probed by a node it does not know pulls that node's view. It
 * carries the sender's digest too (older nodes send none): a node probed by one that knows more
 * members pulls that node's view, as a prober does from an answer that knows more.
 */
export const ProbeSchema = z.object({ type: z.literal('wfmesh.probe.v1'), from: z.string(), id: z.string().optional(), members: MembersDigestSchema.optional() });
export type Probe = z.infer<typeof ProbeSchema>;

/** The probed node's answer: it is alive at this incarnation, with this load, knowing these members. */
export const ProbeAckSchema = z.object({
  type: z.literal('wfmesh.probe.ack.v1'),
  id: z.string(),
  incarnation: z.number().int().nonnegative(),
  state: NodeStateSchema,
  load: LoadSchema,
  memory_free_mib: z.number().int().nonnegative(),
  members: MembersDigestSchema,
});
export type ProbeAck = z.infer<typeof ProbeAckSchema>;
