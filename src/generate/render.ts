import { Document, isScalar, visit } from 'yaml';

/**
 * Renders a workflow document as YAML, with `header` lines as a leading comment (what made it and
 * why it looks the way it does: a person reading the file should not have to guess).
 */
export function renderWorkflowYaml(document: Record<string, unknown>, header: readonly string[]): string {
  const doc = new Document(document);
  if (header.length > 0) doc.commentBefore = header.map((l) => ` ${l}`).join('\n');
  // A separator such as "\n" reads far better quoted than as an indented block of nothing.
  visit(doc, {
    Scalar(_key, node) {
      if (isScalar(node) && typeof node.value === 'string' && node.value !== '' && node.value.trim() === '') node.type = 'QUOTE_DOUBLE';
    },
  });
  // lineWidth 0: never fold long prompts or templates across lines; keeps `${...}` greppable.
  return doc.toString({ lineWidth: 0 });
}

/** A description on one line, clipped, for a YAML comment. */
export function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

/** A workflow id (letters, digits, - and _) from whatever name a model chose. */
export function workflowName(raw: string, fallback = 'generated-workflow'): string {
  const slug = raw.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return slug || fallback;
}
