/**
 * The control-flow patterns of the template library, each over one text (`Data`): a chain, a
 * fan-out/fan-in (map-reduce), conditional routing, a loop over the lines of the text, and the
 * quality gate that complex workflows end with. Each returns the step ids whose output is final.
 */
import { agentStep, literal, makeAgentStep, note, toolOpts, type TemplateCtx } from './context.js';
import { capitalize, type Data } from './source.js';

const out = (id: string): string => `\${${id}.output}`;

function template(ctx: TemplateCtx, base: string, text: string, values: Record<string, string>, after: string[]): string {
  return ctx.b.toolStep(base, 'transform', 'template', { template: text, values }, toolOpts(ctx, 'transform', { after }));
}

/** Tool-only workflows say so in what they produce, not only in the YAML header. */
function honesty(ctx: TemplateCtx): string {
  return ctx.env.model ? '' : '\n_Made by tools only: no model was available on the mesh, so no step reviewed or rewrote the content._\n';
}

/** simple: one step; medium: two; complex: three (draft, critique, final). */
export function chain(ctx: TemplateCtx, d: Data): string[] {
  const { env, intent, b } = ctx;
  if (env.model) {
    // Per-file results were already produced by the scan: the first stage writes them up.
    const first = d.perItem
      ? { base: 'report', task: 'summarize', say: `Write the report on ${d.title} from these per-file results:` }
      : { base: intent.action, task: intent.action, say: `${capitalize(intent.action)} ${d.title}:` };
    const stages = [
      first,
      { base: 'refine', task: 'review', say: 'Check this result against the job, then give the corrected, final version:' },
      { base: 'finalize', task: 'summarize', say: 'Turn this into the final answer for the user, well structured:' },
    ].slice(0, env.complexity === 'simple' ? 1 : env.complexity === 'medium' ? 2 : 3);
    let cur = d;
    for (const [i, s] of stages.entries()) {
      const id = agentStep(ctx, s.base, s.task, s.say, cur.data, { after: cur.after, heavy: i === 0 });
      cur = { after: [id], data: out(id), title: d.title };
    }
    return cur.after;
  }
  if (env.complexity === 'simple' || d.perItem) {
    return [template(ctx, 'report', `# {{title}}\n\n{{body}}\n${honesty(ctx)}`, { title: literal(capitalize(d.title)), body: d.data }, d.after)];
  }
  const lines = b.toolStep('split_lines', 'transform', 'split', { text: d.data, separator: '\n' }, toolOpts(ctx, 'transform', { after: d.after }));
  const count = b.toolStep('count_lines', 'transform', 'length', { value: out(lines) }, toolOpts(ctx, 'transform', { after: [lines] }));
  return [
    template(ctx, 'report', `# {{title}}\n\n{{body}}\n\n({{lines}} lines)\n${honesty(ctx)}`, { title: literal(capitalize(d.title)), body: d.data, lines: out(count) }, [count]),
  ];
}

const ASPECTS: Record<string, string[]> = {
  review: ['correctness', 'security', 'readability', 'tests'],
  default: ['key facts', 'risks', 'open questions', 'next steps'],
};

/** Fan-out to 2/3/4 parallel branches, then one step that waits for all of them (fan-in). */
export function fanOut(ctx: TemplateCtx, d: Data): string[] {
  const { env, intent, b } = ctx;
  const k = env.complexity === 'simple' ? 2 : env.complexity === 'medium' ? 3 : 4;
  if (env.model) {
    const aspects = (ASPECTS[intent.action] ?? ASPECTS.default!).slice(0, k);
    const branches = aspects.map((a, i) =>
      agentStep(ctx, a.replace(/\s+/g, '_'), intent.action, `${capitalize(intent.action)} ${d.title}, looking only at ${a}:`, d.data, { after: d.after, heavy: i === 0 }),
    );
    const merged = aspects.map((a, i) => `### ${a}\n${out(branches[i]!)}`).join('\n\n');
    return [agentStep(ctx, 'merge', 'summarize', 'Merge these partial results into one answer, without repeating yourself:', merged, { after: branches })];
  }
  // Tool-only: independent measurements of the same text, joined into one report.
  const measure = (base: string, method: string, args: Record<string, unknown>): string =>
    b.toolStep(base, 'transform', method, args, toolOpts(ctx, 'transform', { after: d.after }));
  const chars = measure('count_chars', 'length', { value: d.data });
  const lines = measure('split_lines', 'split', { text: d.data, separator: '\n' });
  const lineCount = b.toolStep('count_lines', 'transform', 'length', { value: out(lines) }, toolOpts(ctx, 'transform', { after: [lines] }));
  const branches = [chars, lineCount];
  const values: Record<string, string> = { title: literal(capitalize(d.title)), body: d.data, chars: out(chars), lines: out(lineCount) };
  let stats = '{{lines}} lines, {{chars}} characters';
  if (k >= 3) {
    const words = measure('split_words', 'split', { text: d.data, separator: ' ' });
    const wordCount = b.toolStep('count_words', 'transform', 'length', { value: out(words) }, toolOpts(ctx, 'transform', { after: [words] }));
    branches.push(wordCount);
    values.words = out(wordCount);
    stats += ', {{words}} words';
  }
  return [template(ctx, 'report', `# {{title}}\n\n${stats}\n\n{{body}}\n${honesty(ctx)}`, values, branches)];
}

/** Word pairs for a two-way decision, found in the description; a yes/no question otherwise. */
const DECISIONS: [RegExp, string, string][] = [
  [/\burgent\b/, 'urgent', 'routine'],
  [/\b(sentiment|positive|negative)\b/, 'positive', 'negative'],
  [/\bspam\b/, 'spam', 'legitimate'],
  [/\b(bug|defect)\b/, 'bug', 'other'],
  [/\b(error|fail)/, 'error', 'ok'],
];

/** Decide, then route: the first branch runs when the condition holds, the other otherwise. */
export function conditional(ctx: TemplateCtx, d: Data): string[] {
  const { env, intent } = ctx;
  const found = DECISIONS.find(([re]) => re.test(intent.text));
  if (env.model) {
    const [yes, no] = found ? [found[1], found[2]] : ['yes', 'no'];
    const question = found
      ? `Classify the input as "${yes}" or "${no}". Answer with that one lower-case word only.`
      : 'Does the input meet the condition the job describes? Answer "yes" or "no" only, in lower case.';
    const decide = agentStep(ctx, 'decide', 'classify', question, d.data, { after: d.after, heavy: true });
    const onYes = agentStep(ctx, `handle_${yes}`, intent.action, `The input was classified "${yes}". ${capitalize(intent.action)} it accordingly:`, d.data);
    const onNo = agentStep(ctx, `handle_${no}`, intent.action, `The input was classified "${no}". ${capitalize(intent.action)} it accordingly:`, d.data);
    ctx.b.route(decide, { if: `${out(decide)} contains "${yes}"`, then: onYes, else: onNo });
    return [onYes, onNo];
  }
  // Tool-only: a keyword the description names, else the size of the text, decides.
  const check = found
    ? { cond: (_: string) => `${d.data} contains "${found[1]}"`, yes: `mentions "${found[1]}"`, no: `does not mention "${found[1]}"` }
    : { cond: (id: string) => `${out(id)} > 2000`, yes: 'is long (over 2000 characters)', no: 'is short' };
  const measure = ctx.b.toolStep('measure', 'transform', 'length', { value: d.data }, toolOpts(ctx, 'transform', { after: d.after, description: 'decides which branch runs' }));
  const branch = (base: string, verdict: string): string =>
    ctx.b.add(ctx.b.makeTool(base, 'transform', 'template', {
      template: `# {{title}}\n\nThe text ${verdict}.\n\n{{body}}\n${honesty(ctx)}`,
      values: { title: literal(capitalize(d.title)), body: d.data },
    }, toolOpts(ctx, 'transform')));
  const onYes = branch('when_true', check.yes);
  const onNo = branch('when_false', check.no);
  ctx.b.route(measure, { if: check.cond(measure), then: onYes, else: onNo });
  return [onYes, onNo];
}

/** Split the text into lines, handle each line in a loop, join the results. */
export function loopLines(ctx: TemplateCtx, d: Data): Data {
  const { b, env, intent } = ctx;
  const lines = b.toolStep('split_items', 'transform', 'split', { text: d.data, separator: '\n' }, toolOpts(ctx, 'transform', { after: d.after, description: 'one item per line' }));
  const body = env.model
    ? makeAgentStep(ctx, `${intent.action}_item`, intent.action, `${capitalize(intent.action)} this item:`, '${item}', { heavy: true })
    : b.makeTool('format_item', 'transform', 'template', { template: '- {{item}}', values: { item: '${item}' } }, toolOpts(ctx, 'transform'));
  const each = b.add(b.make('each_item', { loop: { for_each: out(lines), var: 'item', max: 1000, concurrency: env.complexity === 'simple' ? 1 : 4, body: [body] } }, { after: [lines] }));
  const joined = b.toolStep('join_items', 'transform', 'concat', { items: out(each), separator: '\n' }, toolOpts(ctx, 'transform', { after: [each] }));
  return { after: [joined], data: out(joined), title: d.title };
}

/** Complex workflows check their result before handing it over; a failed check takes another path. */
export function gate(ctx: TemplateCtx, finals: string[]): string[] {
  if (finals.length !== 1) return finals;
  const result = finals[0]!;
  const { b, env } = ctx;
  if (env.model) {
    const check = agentStep(ctx, 'quality_check', 'review', 'Does this result fully do the job? Answer "pass" or "fail" only, in lower case:', out(result), { after: [result] });
    const publish = b.add(b.makeTool('publish', 'transform', 'template', { template: '{{result}}', values: { result: out(result) } }, toolOpts(ctx, 'transform')));
    const revise = agentStep(ctx, 'revise', 'review', 'A check found this result lacking. Improve it so it fully does the job:', out(result));
    b.route(check, { if: `${out(check)} contains "pass"`, then: publish, else: revise });
    return [publish, revise];
  }
  const size = b.toolStep('result_size', 'transform', 'length', { value: out(result) }, toolOpts(ctx, 'transform', { after: [result] }));
  const publish = b.add(b.makeTool('publish', 'transform', 'template', { template: '{{result}}', values: { result: out(result) } }, toolOpts(ctx, 'transform')));
  const empty = b.add(b.makeTool('empty_result', 'transform', 'template', { template: 'The workflow produced nothing for: {{job}}', values: { job: literal(ctx.description.trim()) } }, toolOpts(ctx, 'transform')));
  b.route(size, { if: `${out(size)} > 0`, then: publish, else: empty });
  return [publish, empty];
}

/** Every final step answers the user; when the job names a file, each also writes it. */
export function sink(ctx: TemplateCtx, finals: string[]): void {
  const file = ctx.intent.outputFile;
  const write = file && ctx.env.tools.has('filesystem');
  for (const id of finals) {
    ctx.b.route(id, 'user');
    if (write) ctx.b.toolStep('write_report', 'filesystem', 'write_file', { path: file, content: out(id) }, toolOpts(ctx, 'filesystem', { after: [id], description: `save the result to ${file}` }));
  }
  if (file && !write) note(ctx, `the job asks for ${file}, but no node offers the filesystem tool: the result goes to the user only`);
}
