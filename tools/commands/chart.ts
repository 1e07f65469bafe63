/**
 * `figure2 chart --format mermaid|dot|json [--out FILE]`: the server statechart
 * (spec/statechart/server-machine.ts) with every Figure 2 rule on its transitions, for students
 * and for the README.
 */
import { Option, type Command } from 'commander';
import type { AnyStateMachine } from 'xstate';
import { toDot, toJsonGraph, toMermaid } from '../chart-export.ts';
import { emit, EXIT, type CliIo } from '../io.ts';

export const CHART_FORMATS = ['mermaid', 'dot', 'json'] as const;
export type ChartFormat = (typeof CHART_FORMATS)[number];

export interface ChartOptions {
  readonly format?: ChartFormat;
  readonly out?: string;
}

/** Adds the `chart` command to `program`; its exit code goes to `setExit`. */
export function registerChart(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('chart')
    .description('export the server statechart, with rule IDs on its transitions')
    .addOption(new Option('--format <format>', 'output format').choices(CHART_FORMATS).default('mermaid'))
    .option('--out <file>', 'write the chart to FILE instead of stdout')
    .action(async (opts: ChartOptions) => setExit(await runChart(opts, io)));
}

/** Prints (or writes) the server statechart in `opts.format` (default mermaid). */
export async function runChart(opts: ChartOptions, io: CliIo, machine?: AnyStateMachine): Promise<number> {
  const m = machine ?? (await loadServerMachine());
  await emit(io, renderChart(m, opts.format ?? 'mermaid'), opts.out);
  return EXIT.OK;
}

/** The machine in one of the chart formats. */
export function renderChart(machine: AnyStateMachine, format: ChartFormat): string {
  switch (format) {
    case 'mermaid':
      return toMermaid(machine);
    case 'dot':
      return toDot(machine);
    case 'json':
      return `${JSON.stringify(toJsonGraph(machine), null, 2)}\n`;
  }
}

// Loaded on demand: the other commands must not pay for (or break on) the statechart's imports.
async function loadServerMachine(): Promise<AnyStateMachine> {
  const mod = await import('../../spec/statechart/server-machine.ts');
  return mod.serverMachine;
}
