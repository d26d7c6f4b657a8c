import { environmentLines, type Environment } from './env.js';
import { markdownTable, textTable, type Table } from './table.js';

/** One benchmark's result as printed: where it ran, its table and the footnotes. */
export interface Section {
  readonly env: Environment;
  readonly table: Table;
  readonly notes: readonly string[];
}

/** Prints a section to the terminal: heading, environment, table, notes, then `after` (warnings) as-is. */
export function printSection(title: string, section: Section, log: (line: string) => void, after: readonly string[] = []): void {
  log('');
  log(`== ${title} ==`);
  for (const line of environmentLines(section.env)) log(line);
  log('');
  log(textTable(section.table));
  log('');
  for (const note of section.notes) log(`- ${note}`);
  if (after.length > 0) log('');
  for (const line of after) log(line);
}

/** The section for `.bench/results.md`: a level-3 heading, the table, the notes as a list, then `after` paragraphs. */
export function markdownSection(title: string, section: Section, after: readonly string[] = []): string {
  return [`### ${title}`, '', markdownTable(section.table), '', ...section.notes.map((n) => `- ${n}`), ...after.flatMap((a) => ['', a])].join('\n');
}

/** The terminal lines that say a run had wrong answers; none when all is well. */
export function failureLines(failures: readonly string[]): string[] {
  if (failures.length === 0) return [];
  return [
    `!! ${failures.length} FAILURE(S): results were not what the benchmark assumes; the figures above are not valid.`,
    ...failures.map((f) => `!! ${f}`),
  ];
}

/** The Markdown paragraph that says a run had wrong answers; none when all is well. */
export function failureParagraph(failures: readonly string[]): string[] {
  return failures.length === 0 ? [] : [`**${failures.length} failure(s):** ${failures.join('; ')}`];
}
