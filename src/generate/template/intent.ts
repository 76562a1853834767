/**
 * Reads a plain-words description into the few facts the template library needs: which patterns
 * it asks for, where the data comes from, where the result goes, and any placement wishes.
 * Deterministic keyword and shape matching; it never guesses beyond what the words say.
 */

export type PatternName = 'chain' | 'fan_out' | 'conditional' | 'loop' | 'tool_pipeline';

export type Source =
  | { kind: 'files'; dir: string; extension?: string; language?: string }
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'input' };

export interface Intent {
  /** The description, whitespace flattened. */
  text: string;
  /** Main patterns asked for, strongest first (never empty: `chain` when nothing else). */
  patterns: PatternName[];
  source: Source;
  /** A file the result should be written to. */
  outputFile?: string;
  /** What the job does to its data, e.g. "review", "summarize" (for step names and prompts). */
  action: string;
  wantsGpu: boolean;
  /** Region words found ("eu", "us-east", "europe"), lower case. */
  regionWords: string[];
  wantsShell: boolean;
  /** Short kebab-case name built from the description. */
  slug: string;
}

const LANGUAGES: Record<string, string> = {
  typescript: '.ts', ts: '.ts', javascript: '.js', js: '.js', python: '.py', py: '.py', go: '.go',
  golang: '.go', rust: '.rs', java: '.java', kotlin: '.kt', ruby: '.rb', php: '.php', c: '.c',
  cpp: '.cpp', csharp: '.cs', swift: '.swift', markdown: '.md', json: '.json', yaml: '.yaml',
  csv: '.csv', text: '.txt', log: '.log', logs: '.log', html: '.html', css: '.css', sql: '.sql', shell: '.sh',
};

/** Folder names that count as a folder after "in"/"from"/"under" even without a slash. */
const KNOWN_DIRS = new Set([
  'src', 'lib', 'docs', 'doc', 'test', 'tests', 'data', 'app', 'apps', 'packages', 'scripts',
  'config', 'examples', 'bench', 'inbox', 'reports', 'logs', 'notes', 'assets',
]);

const ACTIONS = [
  'review', 'summarize', 'summarise', 'translate', 'classify', 'analyze', 'analyse', 'extract',
  'audit', 'check', 'compare', 'count', 'convert', 'clean', 'score', 'rank', 'tag', 'triage',
  'transcribe', 'embed', 'index', 'search', 'monitor', 'report', 'collect', 'fetch', 'generate',
  'describe', 'validate', 'merge', 'format', 'filter', 'process', 'draft', 'answer', 'plan',
] as const;

const CUES: Record<Exclude<PatternName, 'chain'>, RegExp[]> = {
  fan_out: [
    /\bin parallel\b/, /\bparallel(ly)?\b/, /\bfan[- ]?out\b/, /\bmap[- ]?reduce\b/, /\bsimultaneous(ly)?\b/,
    /\b(several|multiple|different) (perspectives|angles|reviewers|experts|viewpoints|aspects)\b/,
    /\bcombine\b/, /\baggregate\b/, /\bmerge\b/, /\bconsolidate\b/, /\bcompare\b/, /\bboth\b/,
  ],
  conditional: [
    /\bif\b/, /\bwhen(ever)?\b/, /\botherwise\b/, /\bdepending on\b/, /\broute\b/, /\brouting\b/,
    /\btriage\b/, /\bescalate\b/, /\bunless\b/, /\bin case\b/, /\bbranch\b/,
    /\burgent\b/, /\bpositive or negative\b/, /\bsentiment\b/, /\bspam\b/,
  ],
  loop: [
    /\b(for )?each\b/, /\bevery\b/, /\bone by one\b/, /\biterate\b/, /\bloop\b/, /\bbatch\b/,
    /\ball (the )?(files|items|rows|lines|records|pages|documents|entries|emails|tickets|urls)\b/,
    /\b(list|lines|rows|items|records) of\b/,
  ],
  tool_pipeline: [
    /\bfiles?\b/, /\bfolder\b/, /\bdirectory\b/, /\bread\b/, /\bwrite\b/, /\bsave\b/, /\bstore\b/,
    /\bfetch\b/, /\bdownload\b/, /\bhttps?:\/\//, /\burl\b/, /\bapi\b/, /\bendpoint\b/, /\bjson\b/,
    /\bcsv\b/, /\bparse\b/, /\bextract\b/, /\bconvert\b/, /\breport\b/,
  ],
};

const GPU_CUES = [
  /\bgpus?\b/, /\bcuda\b/, /\binference\b/, /\bembeddings?\b/, /\bfine[- ]?tun/, /\btrain(ing)?\b/,
  /\bimages?\b/, /\bvision\b/, /\bwhisper\b/, /\btranscri/, /\bstable diffusion\b/, /\bvram\b/, /\bh100\b/, /\ba100\b/,
];

/** Words that point at a region, and what they match in region names. */
export const REGION_WORDS: Record<string, string[]> = {
  eu: ['eu'], europe: ['eu'], european: ['eu'], gdpr: ['eu'], emea: ['eu'],
  us: ['us'], usa: ['us'], america: ['us'], american: ['us'],
  asia: ['ap', 'asia'], apac: ['ap', 'asia'], japan: ['ap', 'jp'],
};

const STOP = new Set([
  'the', 'a', 'an', 'and', 'or', 'of', 'to', 'in', 'on', 'for', 'with', 'from', 'into', 'then', 'it',
  'them', 'all', 'each', 'every', 'that', 'this', 'these', 'those', 'my', 'our', 'me', 'us', 'is', 'are',
  'be', 'by', 'as', 'at', 'if', 'when', 'so', 'please', 'some', 'any', 'its', 'their', 'write', 'make',
]);

/**
 * Paths and URLs are read from the description as written (`raw`): a folder "Docs" is not "docs"
 * on a case-sensitive disk. Everything else matches on the lower-cased `text`.
 */
function findSource(raw: string, text: string): Source {
  const url = /\bhttps?:\/\/[^\s"'<>{}$`]+/i.exec(raw)?.[0]?.replace(/[.,;:)]+$/, '');
  if (url) return { kind: 'url', url };
  // A language counts right before "files", "code", ...: "go through the files" is not Go.
  const language = [...text.matchAll(/\b([a-z]+)\s+(?:source\s+)?(?:files?|code|sources?|scripts?|modules?|programs?)\b/g)]
    .map((m) => m[1]!)
    .find((w) => Object.hasOwn(LANGUAGES, w));
  let extension = language ? LANGUAGES[language] : undefined;
  const ext = /\*?(\.[a-z0-9]{1,5})\s+files?\b/.exec(text)?.[1];
  if (ext) extension = ext;
  const dir = folderIn(raw, text);
  if (dir) return { kind: 'files', dir, ...(extension && { extension }), ...(language && { language }) };
  // A file path: a dot-extension, maybe folders, e.g. "notes/todo.md", "data.csv".
  const filePath = /(?:^|\s)["'`]?((?:\.\/)?[\w-]+(?:\/[\w.-]+)*\.[a-z0-9]{1,5})(?=["'`]?(?:[\s,;:]|\.(?:\s|$)|$))/i.exec(raw)?.[1];
  if (filePath && !isOutputPhrase(raw, filePath)) return { kind: 'file', path: filePath.replace(/^\.\//, '') };
  if (/\b(files|folder|directory)\b/.test(text) || extension) {
    return { kind: 'files', dir: '.', ...(extension && { extension }), ...(language && { language }) };
  }
  return { kind: 'input' };
}

/** The folder after "in/from/under/inside/within", when it looks like one. */
function folderIn(raw: string, text: string): string | undefined {
  const re = /\b(?:in|from|under|inside|within)\s+(?:the\s+)?(?:folder\s+|directory\s+|dir\s+)?["'`]?((?:\.\/)?[\w.-]+(?:\/[\w.-]+)*\/?)["'`]?/gi;
  const aboutFiles = /\b(files?|folders?|director(y|ies)|code|sources?|modules?)\b/.test(text);
  for (const m of raw.matchAll(re)) {
    const dir = (m[1] ?? '').replace(/^\.\//, '').replace(/\/$/, '');
    if (!dir || dir.split('/').includes('..') || /\.[a-z0-9]{1,5}$/i.test(dir)) continue;
    if (dir.includes('/') || (aboutFiles && KNOWN_DIRS.has(dir.toLowerCase()))) return dir;
    const after = raw.slice((m.index ?? 0) + m[0].length);
    if (/^\s*(folder|directory|dir)\b/i.test(after)) return dir;
  }
  return undefined;
}

function isOutputPhrase(raw: string, path: string): boolean {
  const esc = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\b(write|save|store|output|export|dump|put)\\b[^.]*?\\b(to|into|as|in)\\s+(?:a\\s+file\\s+)?["'\`]?${esc}`, 'i').test(raw);
}

function findOutputFile(raw: string, text: string): string | undefined {
  const named = /\b(?:write|save|store|output|export|dump|put)\b[^.]*?\b(?:to|into|as|in)\s+(?:a\s+file\s+)?["'`]?((?:[\w-]+\/)*[\w-]+\.[a-z0-9]{1,5})\b/i.exec(raw)?.[1];
  if (named && !named.split('/').includes('..')) return named;
  const noun = /\b(?:write|save|produce|create|generate|make|build|store)\s+(?:a|an|the)?\s*(?:short\s+|brief\s+|markdown\s+|final\s+)?(report|summary|digest|changelog|overview|review|list|table|index|log)\b/.exec(text)?.[1];
  return noun ? `${noun}.md` : undefined;
}

function slugOf(words: string[]): string {
  const kept = words.filter((w) => !STOP.has(w) && /^[a-z0-9]+$/.test(w)).slice(0, 5);
  const slug = kept.join('-').slice(0, 48).replace(/-+$/, '');
  return slug || 'workflow';
}

export function readIntent(description: string): Intent {
  const raw = description.replace(/\s+/g, ' ').trim();
  const text = raw.toLowerCase();
  const words = text.split(/[^a-z0-9+#.-]+/).map((w) => w.replace(/^\.+|\.+$/g, '')).filter(Boolean);
  const scores = (Object.keys(CUES) as (keyof typeof CUES)[])
    .map((p) => ({ p, n: CUES[p].filter((re) => re.test(text)).length }))
    .filter((s) => s.n > 0)
    .sort((a, b) => b.n - a.n);
  const source = findSource(raw, text);
  const patterns: PatternName[] = scores.map((s) => s.p);
  if (source.kind !== 'input' && !patterns.includes('tool_pipeline')) patterns.push('tool_pipeline');
  if (patterns.length === 0) patterns.push('chain');
  // The first action word in the text: "summarize, then review" is a summary.
  const action = words.map((w) => ACTIONS.find((a) => w === a || w === `${a}s` || w === `${a}d`)).find(Boolean) ?? 'process';
  const outputFile = findOutputFile(raw, text);
  return {
    text,
    patterns,
    source,
    ...(outputFile && { outputFile }),
    action: action.replace(/ise$/, 'ize').replace(/yse$/, 'yze'),
    wantsGpu: GPU_CUES.some((re) => re.test(text)),
    regionWords: words.filter((w) => Object.hasOwn(REGION_WORDS, w) || /^[a-z]{2,6}-[a-z]+(-?\d)?$/.test(w)),
    wantsShell: /\b(shell|bash|zsh|command[- ]line|commands?)\b/.test(text),
    slug: slugOf(words),
  };
}
