/**
 * Accumulates one workflow document for the template library: unique step ids, tools and agents
 * declared once, every step wired with explicit `depends_on` (graph mode, so what runs after what
 * is written down), and notes that end up as the YAML header.
 */
import type { Requires } from '../../protocol/step.js';

type Obj = Record<string, unknown>;

/** A step as it will appear in the YAML. */
export type StepObj = Obj & { id: string };

export interface StepOptions {
  /** Step ids this step waits for (fan-in waits for all). */
  after?: readonly string[];
  requires?: Requires;
  description?: string;
  retry?: number;
  timeout?: string;
  /** Step-level condition: the step runs only when it holds. */
  condition?: string;
}

/** Where the flow stands: the steps the next one waits for, and the variable holding the data. */
export interface Cursor {
  after: string[];
  data: string;
}

export class WorkflowBuilder {
  private readonly agents = new Map<string, Obj>();
  private readonly tools = new Map<string, Obj>();
  private readonly ids = new Set<string>();
  readonly steps: StepObj[] = [];
  readonly notes: string[] = [];

  /** A step id derived from `base`, unique in the whole workflow (loop bodies included). */
  id(base: string): string {
    const clean = base.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'step';
    let id = /^(user|input|user_input|context|env|loop)$/.test(clean) ? `${clean}_step` : clean;
    for (let i = 2; this.ids.has(id); i++) id = `${clean}_${i}`;
    this.ids.add(id);
    return id;
  }

  /** Declares a tool of `type` once (its id is the type); returns the id. */
  tool(type: string, settings?: Obj): string {
    if (!this.tools.has(type)) this.tools.set(type, { id: type, type, ...(settings && { settings }) });
    return type;
  }

  /** Declares an agent (the same one is declared once); returns its id. */
  agent(base: string, model: string, systemPrompt: string): string {
    const clean = base.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
    let id = clean;
    for (let i = 2; ; i++) {
      const prior = this.agents.get(id);
      if (!prior) break;
      if (prior.model === model && prior.system_prompt === systemPrompt) return id;
      id = `${clean}_${i}`;
    }
    this.agents.set(id, { id, model, system_prompt: systemPrompt });
    return id;
  }

  /** A step object (not yet added); loop bodies use these directly. */
  make(base: string, body: Obj, opts: StepOptions = {}): StepObj {
    const step: StepObj = { id: this.id(base) };
    if (opts.description) step.description = opts.description;
    Object.assign(step, body);
    if (opts.after && opts.after.length > 0) step.depends_on = [...opts.after];
    if (opts.condition) step.condition = opts.condition;
    if (opts.retry) step.retry = opts.retry;
    if (opts.timeout) step.timeout = opts.timeout;
    if (opts.requires && Object.keys(opts.requires).length > 0) step.requires = opts.requires;
    return step;
  }

  /** A tool step object (declaring the tool); `toolStep` also adds it. */
  makeTool(base: string, type: string, method: string | undefined, args: Obj, opts: StepOptions = {}): StepObj {
    const tool = this.tool(type);
    return this.make(base, { tool, ...(method && { method }), args }, opts);
  }

  /** Adds a tool step; returns its id. */
  toolStep(base: string, type: string, method: string | undefined, args: Obj, opts: StepOptions = {}): string {
    return this.add(this.makeTool(base, type, method, args, opts));
  }

  /** Adds a step object to the top-level list; returns its id. */
  add(step: StepObj): string {
    this.steps.push(step);
    return step.id;
  }

  /** Routes a step's output: to `user`, to other steps, or by an if/then/else condition. */
  route(stepId: string, to: string | string[] | { if: string; then: string; else: string }): void {
    const step = this.steps.find((s) => s.id === stepId);
    if (!step) throw new Error(`template builder: no step "${stepId}"`);
    step.output = typeof to === 'object' && !Array.isArray(to) ? { to: { condition: to } } : { to };
  }

  document(name: string, description: string): Obj {
    const doc: Obj = {};
    if (this.agents.size > 0) doc.agents = [...this.agents.values()];
    if (this.tools.size > 0) doc.tools = [...this.tools.values()];
    doc.workflows = { [name]: { description, steps: this.steps } };
    return doc;
  }
}
