import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { memberSubjectSender, subjectScopes, subjects, subjectToken } from '../../../src/protocol/subjects.js';
import { StepFailure } from '../../../src/protocol/errors.js';
import { VERSION } from '../../../src/version.js';

test('subjects are built from checked tokens', () => {
  assert.equal(subjects.members('node-1', 'ABC123'), 'wfmesh.member.node-1.ABC123');
  assert.equal(subjects.probe('node-1', 'ABC123'), 'wfmesh.probe.node-1.ABC123');
  assert.equal(subjects.viewAny(), 'wfmesh.view.any');
  assert.equal(subjects.membersAll(), 'wfmesh.member.*.*');
  assert.equal(subjectScopes.ofNode('member', 'node-1'), 'wfmesh.member.node-1.*');
  // A membership subject names its sender, and nothing else parses as one.
  assert.deepEqual(memberSubjectSender(subjects.members('node-1', 'ABC123')), { name: 'node-1', id: 'ABC123' });
  assert.equal(memberSubjectSender('wfmesh.step.node-1.ABC123'), undefined);
  assert.equal(memberSubjectSender('wfmesh.member.node-1'), undefined);
  assert.equal(subjects.cancel('ex-1_a'), 'wfmesh.cancel.ex-1_a');
  assert.equal(subjects.serviceInfo(), '$SRV.INFO.wfmesh');
  assert.equal(subjects.serviceInfo('X1'), '$SRV.INFO.wfmesh.X1');
  // The wildcard matches exactly the subjects events(id) builds.
  assert.equal(subjects.eventsAll(), subjects.events('ex-1').replace('ex-1', '*'));
  // Agents' tool-call notes, and the scope node permissions grant on them.
  assert.equal(subjects.toolCalls('ex-1'), 'wfmesh.toolcall.ex-1');
  assert.equal(subjectScopes.toolCalls(), subjects.toolCalls('ex-1').replace('ex-1', '*'));
  assert.throws(() => subjects.toolCalls('a.>'), /execution id/);
});

test("a node's step subject names it, and tags its id in 8 characters", () => {
  const id = 'Qx7kP2mN9vB4cL8dR1tY6w'; // a micro service instance id (a NUID)
  const subject = subjects.step('eu_1', id);
  assert.match(subject, /^wfmesh\.step\.eu_1\.[A-Za-z0-9_-]{8}$/);
  // The same node always gets the same subject; the permission scope of its name covers it.
  assert.equal(subjects.step('eu_1', id), subject);
  assert.equal(subjectScopes.ofNode('step', 'eu_1').replace('*', subject.split('.')[3]!), subject);
  // Another incarnation of the name (a restart: a new id) has another subject, and so does
  // another node with the same id under another name.
  const next = subjects.step('eu_1', 'Qx7kP2mN9vB4cL8dR1tY6x');
  assert.notEqual(next, subject);
  assert.equal(subjects.step('eu_2', id).split('.')[2], 'eu_2');
  // Ten thousand ids of one process (one NUID prefix, sequential ends): no tag twice.
  const tags = new Set(Array.from({ length: 10_000 }, (_, i) => subjects.step('n', `Qx7kP2mN9vB4${String(i).padStart(10, '0')}`).split('.')[3]));
  assert.equal(tags.size, 10_000);
});

test('a token with wildcards, dots or spaces is refused', () => {
  for (const bad of ['*', '>', 'a.b', 'a b', '', 'a\nb']) assert.throws(() => subjectToken(bad, 'id'), /not a valid subject token/);
  assert.throws(() => subjects.step('n', 'x.>'), /node id/);
  assert.throws(() => subjects.step('a.b', 'X'), /node name "a\.b"/);
  assert.throws(() => subjects.members('a.b', 'X'), /node name "a\.b"/);
});

test('StepFailure crosses the wire with its type and retryable flag', () => {
  const f = StepFailure.fromWire(new StepFailure('busy', 'node full').toWire());
  assert.equal(f.type, 'busy');
  assert.equal(f.retryable, true);
  assert.equal(new StepFailure('infeasible', 'x').retryable, false);
  assert.equal(StepFailure.from(new Error('boom')).type, 'internal');
});

test('the advertised version is the package version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
});
