/** A table printed two ways: aligned plain text for the terminal, GitHub Markdown for the README. */
export interface Table {
  readonly columns: readonly string[];
  /** Columns whose cells are right-aligned (numbers). */
  readonly numeric: ReadonlySet<number>;
  readonly rows: readonly (readonly string[])[];
}

export function textTable(table: Table): string {
  const widths = table.columns.map((c, i) => Math.max(c.length, ...table.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (table.numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(table.columns), rule, ...table.rows.map(line)].join('\n');
}

export function markdownTable(table: Table): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const header = `| ${table.columns.map(escape).join(' | ')} |`;
  const align = `|${table.columns.map((_, i) => (table.numeric.has(i) ? '---:' : ':---')).join('|')}|`;
  const rows = table.rows.map((r) => `| ${r.map(escape).join(' | ')} |`);
  return [header, align, ...rows].join('\n');
}
