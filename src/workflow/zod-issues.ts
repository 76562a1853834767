/** zod errors as validation issues under a YAML path. */
import type { z } from 'zod';
import { joinPath, type ValidationIssue } from './issues.js';

export function zodIssues(error: z.ZodError, base: string): ValidationIssue[] {
  return error.issues.map((i) => {
    const path = i.path.reduce<string>((p, seg) => joinPath(p, typeof seg === 'number' ? seg : String(seg)), base);
    const keys = i.code === 'unrecognized_keys' ? `: ${i.keys.join(', ')}` : '';
    return { path, message: `${i.message}${keys}` };
  });
}
