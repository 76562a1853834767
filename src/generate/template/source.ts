/**
 * Where a template's data comes from: the workflow input, one file, a folder scan (a loop over
 * `list_dir`), or an HTTP GET. Every source ends as one text, `${STEP.output}`, for the shapes.
 */
import type { StepObj, StepOptions } from './builder.js';
import { makeAgentStep, note, toolOpts, type TemplateCtx } from './context.js';

type Obj = Record<string, unknown>;

/** Text data ready for the next stage: the steps it waits for and the variable that holds it. */
export interface Data {
  after: string[];
  data: string;
  /** What the data is, for titles ("TypeScript files in src"). */
  title: string;
  /** True when the data is already per-item results (a folder scan). */
  perItem?: boolean;
}

const LANGUAGE_NAMES: Record<string, string> = {
  typescript: 'TypeScript', ts: 'TypeScript', javascript: 'JavaScript', js: 'JavaScript', python: 'Python',
  py: 'Python', golang: 'Go', csharp: 'C#', cpp: 'C++', json: 'JSON', yaml: 'YAML', csv: 'CSV', html: 'HTML',
  css: 'CSS', sql: 'SQL', php: 'PHP',
};

/** Folders a scan never descends into: dependencies, build output, version control. */
const SKIPPED_DIRS = ['node_modules', '.git', 'dist', 'build', 'target', '.venv', 'venv', '__pycache__'];

/** Most entries a folder scan accepts: a guard against a workflow fanning out over a huge folder. */
const MAX_ENTRIES = 1000;

export function sourceStage(ctx: TemplateCtx): Data {
  const { env, intent, b } = ctx;
  const src = intent.source;
  const input: Data = { after: [], data: '${user_input}', title: 'the input' };
  if (src.kind === 'url') {
    if (!env.tools.has('http')) {
      note(ctx, `the job names ${src.url}, but no node offers the http tool: the workflow works on its input instead`);
      return input;
    }
    note(ctx, 'the http tool reaches only hosts the node allows (config allow.http_hosts, WFMESH_HTTP_HOSTS for wfmesh run)');
    const fetch = b.toolStep('fetch', 'http', 'request', { url: src.url, method: 'GET' }, toolOpts(ctx, 'http', {
      description: `GET ${src.url}`,
      retry: 2,
      timeout: '30s',
    }));
    // A JSON body arrives as an object: render it as text so every later step reads text.
    const text = b.toolStep('response_text', 'transform', 'template', { template: '{{body}}', values: { body: `\${${fetch}.output.body}` } }, toolOpts(ctx, 'transform', { after: [fetch] }));
    return { after: [text], data: `\${${text}.output}`, title: `the response of ${src.url}` };
  }
  if ((src.kind === 'file' || src.kind === 'files') && !env.tools.has('filesystem')) {
    note(ctx, 'the job names files, but no node offers the filesystem tool: the workflow works on its input instead');
    return input;
  }
  if (src.kind === 'file') {
    const read = b.toolStep('read_file', 'filesystem', 'read_file', { path: src.path }, toolOpts(ctx, 'filesystem', { description: `read ${src.path}` }));
    return { after: [read], data: `\${${read}.output}`, title: src.path };
  }
  if (src.kind === 'files') return scanFolder(ctx, src.dir, src.extension, src.language);
  return input;
}

/**
 * A folder scan: list the folder, then per entry read matching files and turn each into a text
 * section; folders one level down are scanned too (medium and complex), since list_dir is not
 * recursive. Exactly one branch of each entry's body runs (their conditions exclude each other),
 * so every iteration's output is text and the sections join cleanly.
 */
function scanFolder(ctx: TemplateCtx, dir: string, extension: string | undefined, language: string | undefined): Data {
  const { b, env } = ctx;
  const depth = env.complexity === 'simple' ? 1 : 2;
  const list = b.toolStep('list_files', 'filesystem', 'list_dir', { path: dir }, toolOpts(ctx, 'filesystem', { description: `list ${dir}` }));
  const scan = b.add(
    b.make('scan', { loop: scanLoop(ctx, `\${${list}.output}`, dir === '.' ? '' : `${dir}/`, extension, depth, ['entry', 'sub']) }, {
      after: [list],
      description: `one section per ${extension ? `${extension} ` : ''}file`,
    }),
  );
  const collect = b.toolStep('collect', 'transform', 'concat', { items: `\${${scan}.output}`, separator: '' }, toolOpts(ctx, 'transform', { after: [scan] }));
  const what = language ? `${LANGUAGE_NAMES[language] ?? capitalize(language)} files` : extension ? `${extension} files` : 'files';
  note(ctx, `reads ${extension ? `files whose name contains "${extension}"` : 'every file'} in ${dir}${depth > 1 ? ` and in its folders one level down, except ${SKIPPED_DIRS.join(', ')}` : ''} (list_dir is not recursive)`);
  return { after: [collect], data: `\${${collect}.output}`, title: `${what} in ${dir}`, perItem: true };
}

function scanLoop(ctx: TemplateCtx, items: string, prefix: string, extension: string | undefined, depth: number, vars: string[]): Obj {
  const { b, env } = ctx;
  const v = vars[0]!;
  const path = `${prefix}\${${v}.name}`;
  const isFile = `\${${v}.type} == "file"${extension ? ` and \${${v}.name} contains "${extension}"` : ''}`;
  const isDir = `\${${v}.type} == "dir" and not (\${${v}.name} in ${JSON.stringify(SKIPPED_DIRS)})`;
  const fs = (base: string, method: string, condition: string): StepObj =>
    b.makeTool(base, 'filesystem', method, { path }, toolOpts(ctx, 'filesystem', { condition }));
  const tf = (base: string, method: string, args: Obj, opts: StepOptions): StepObj =>
    b.makeTool(base, 'transform', method, args, toolOpts(ctx, 'transform', opts));

  const read = fs('read', 'read_file', isFile);
  const body: StepObj[] = [read, ...fileSection(ctx, read.id, path)];
  if (depth > 1) {
    const sub = fs('list_sub', 'list_dir', isDir);
    const inner = b.make('scan_sub', { loop: scanLoop(ctx, `\${${sub.id}.output}`, `${path}/`, extension, depth - 1, vars.slice(1)) }, { after: [sub.id] });
    const join = tf('join_sub', 'concat', { items: `\${${inner.id}.output}`, separator: '' }, { after: [inner.id] });
    body.push(sub, inner, join);
  }
  // Other entries still give text (empty), so the sections concatenate without gaps or nulls.
  const other = depth > 1 ? `not (${isFile}) and not (${isDir})` : `not (${isFile})`;
  body.push(tf('skip', 'template', { template: '', values: {} }, { condition: other }));
  return { for_each: items, var: v, max: MAX_ENTRIES, concurrency: env.complexity === 'simple' ? 1 : 4, body };
}

/** Steps that turn one file's text into a report section (after `read`). */
function fileSection(ctx: TemplateCtx, read: string, path: string): StepObj[] {
  const { b, env, intent } = ctx;
  const text = `\${${read}.output}`;
  const tf = (base: string, method: string, args: Obj, after: string[]): StepObj =>
    b.makeTool(base, 'transform', method, args, toolOpts(ctx, 'transform', { after }));
  if (env.model) {
    const step = makeAgentStep(ctx, intent.action, intent.action, `${capitalize(intent.action)} the file ${path}:`, text, { after: [read], heavy: true });
    const section = tf('section', 'template', { template: '### {{path}}\n\n{{result}}\n\n', values: { path, result: `\${${step.id}.output}` } }, [step.id]);
    return [step, section];
  }
  const lines = tf('split_lines', 'split', { text, separator: '\n' }, [read]);
  const count = tf('count_lines', 'length', { value: `\${${lines.id}.output}` }, [lines.id]);
  const chars = tf('count_chars', 'length', { value: text }, [read]);
  const section = tf(
    'section',
    'template',
    { template: '- `{{path}}`: {{lines}} lines, {{chars}} characters\n', values: { path, lines: `\${${count.id}.output}`, chars: `\${${chars.id}.output}` } },
    [count.id, chars.id],
  );
  return [lines, count, chars, section];
}

export function capitalize(s: string): string {
  return s ? `${s[0]!.toUpperCase()}${s.slice(1)}` : s;
}
