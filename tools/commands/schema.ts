/**
 * `figure2 schema trace|rpc [--out FILE]`: the trace format as JSON Schema, for implementers in
 * other languages. It is generated from the Zod schemas in spec/ (the normative source) on every
 * run, so it can never drift from what `figure2 validate` and the checker accept.
 */
import { Argument, type Command } from 'commander';
import { z } from 'zod';
import { Message, TraceEvent } from '../../spec/schemas/index.ts';
import { emit, EXIT, type CliIo } from '../io.ts';

interface SchemaTarget {
  readonly schema: z.ZodType;
  readonly id: string;
  readonly title: string;
  readonly description: string;
}

/** The documents `figure2 schema` can print, by target name. */
export const SCHEMA_TARGETS = {
  trace: {
    schema: TraceEvent,
    id: 'urn:figure2:trace-format:v1:event',
    title: 'figure2 trace format v1: trace event',
    description:
      'One line of a figure2 trace (trace format v1): a UTF-8 NDJSON file holds one such object per line. ' +
      'Unknown fields are allowed and ignored. Generated from the Zod schemas in figure2 spec/schemas.',
  },
  rpc: {
    schema: Message,
    id: 'urn:figure2:trace-format:v1:message',
    title: 'figure2 trace format v1: RPC message',
    description:
      'A Raft RPC message as carried in the `msg` field of send/recv/drop events of figure2 trace format v1, ' +
      'discriminated by `type`. Generated from the Zod schemas in figure2 spec/schemas.',
  },
} as const satisfies Record<string, SchemaTarget>;

export type SchemaTargetName = keyof typeof SCHEMA_TARGETS;
const TARGET_NAMES = Object.keys(SCHEMA_TARGETS) as SchemaTargetName[];

export interface SchemaOptions {
  readonly out?: string;
}

/** Adds the `schema` command to `program`; its exit code goes to `setExit`. */
export function registerSchema(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('schema')
    .description('print the trace format as JSON Schema (draft 2020-12), generated from spec/')
    .addArgument(new Argument('<target>', 'which schema: trace (one trace line) or rpc (a message)').choices(TARGET_NAMES))
    .option('--out <file>', 'write the schema to FILE instead of stdout')
    .action(async (target: SchemaTargetName, opts: SchemaOptions) => setExit(await runSchema(target, opts, io)));
}

/** Prints (or writes) the JSON Schema of `target`. */
export async function runSchema(target: SchemaTargetName, opts: SchemaOptions, io: CliIo): Promise<number> {
  await emit(io, `${JSON.stringify(jsonSchemaFor(target), null, 2)}\n`, opts.out);
  return EXIT.OK;
}

/** The JSON Schema document for `target`, with `$id`/`title`/`description` naming the format version. */
export function jsonSchemaFor(target: SchemaTargetName): Record<string, unknown> {
  const t: SchemaTarget = SCHEMA_TARGETS[target];
  // io: 'input' describes what an emitter may write (optional fields stay optional); the schemas
  // are plain data with no transforms, so input and output agree anyway.
  const generated = z.toJSONSchema(t.schema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: t.id, title: t.title, description: t.description, ...rest };
}
