/**
 * The `figure2` command line. Run it as `npx tsx tools/cli.ts <command>`, `npm run figure2 --
 * <command>` or (installed) `figure2 <command>`.
 *
 * Exit codes (../shared/design/README.md): 0 ok, 1 violations found, 2 bad input or usage.
 * Whatever goes wrong, the user sees one line on stderr, never a stack trace: usage errors come
 * from commander (intercepted with exitOverride), bad input from commands as UsageError, and
 * anything else is reported as an internal error — a bug in figure2, said so in the message.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerChart } from './commands/chart.ts';
import { registerCluster } from './commands/cluster.ts';
import { registerCheck } from './commands/check.ts';
import { registerConform } from './commands/conform.ts';
import { registerExplore } from './commands/explore.ts';
import { registerMutate } from './commands/mutate.ts';
import { registerNode } from './commands/node.ts';
import { registerRecord } from './commands/record.ts';
import { registerRules } from './commands/rules.ts';
import { registerSchema } from './commands/schema.ts';
import { registerSimulate } from './commands/simulate.ts';
import { registerValidate } from './commands/validate.ts';
import { registerWal } from './commands/wal.ts';
import { errorMessage, EXIT, nodeIo, UsageError, type CliIo } from './io.ts';

export type { CliIo } from './io.ts';
export { nodeIo } from './io.ts';

const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The program with every command registered; `setExit` receives the running command's exit code. */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('figure2')
    .description('Figure 2 of the Raft paper, executable: rule catalog, trace validation, statechart export, spec exploration')
    .version(VERSION, '--version', 'print the figure2 version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      // Commander's own error text can span lines ("(Did you mean …?)"); runCli prints it as one.
      outputError: () => {},
    });
  // Subcommands created with .command() inherit exitOverride and configureOutput.
  registerRules(program, io, setExit);
  registerSchema(program, io, setExit);
  registerValidate(program, io, setExit);
  registerChart(program, io, setExit);
  registerExplore(program, io, setExit);
  registerSimulate(program, io, setExit);
  registerCheck(program, io, setExit);
  registerConform(program, io, setExit);
  registerRecord(program, io, setExit);
  registerNode(program, io, setExit);
  registerCluster(program, io, setExit);
  registerWal(program, io, setExit);
  registerMutate(program, io, setExit);
  return program;
}

/**
 * Runs the CLI on `argv` (the user's arguments, without `node` and the script) and returns the
 * exit code. It never throws and never exits the process, so tests call it in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  const commandNames = program.commands.map((c) => c.name());
  if (argv.length === 0) {
    io.stderr(`figure2: no command given (commands: ${commandNames.join(', ')}); see 'figure2 --help'\n`);
    return EXIT.BAD_INPUT;
  }
  // `figure2 help nope` would print the whole help as an error; say what is wrong in one line.
  if (argv[0] === 'help' && argv[1] !== undefined && !argv[1].startsWith('-') && !commandNames.includes(argv[1])) {
    io.stderr(`figure2: unknown command '${argv[1]}' (commands: ${commandNames.join(', ')}); see 'figure2 --help'\n`);
    return EXIT.BAD_INPUT;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end in a CommanderError with exit code 0; they printed already.
      if (err.exitCode === 0) return EXIT.OK;
      // Help requested as an error (a command group without a subcommand): already printed.
      if (err.code === 'commander.help') return EXIT.BAD_INPUT;
      const command = argv.find((a) => commandNames.includes(a));
      const help = command === undefined ? "'figure2 --help'" : `'figure2 ${command} --help'`;
      const known = err.code === 'commander.unknownCommand' ? ` (commands: ${commandNames.join(', ')})` : '';
      const message = oneLine(err.message.replace(/^error: /, '')).replace(/\.$/, '');
      io.stderr(`figure2: ${message}${known}; see ${help}\n`);
      return EXIT.BAD_INPUT;
    }
    if (err instanceof UsageError) {
      io.stderr(`figure2: ${oneLine(err.message)}\n`);
      return EXIT.BAD_INPUT;
    }
    io.stderr(`figure2: internal error (this is a bug in figure2, please report it with the command line): ${oneLine(errorMessage(err))}\n`);
    if (io.debug === true && err instanceof Error && err.stack !== undefined) io.stderr(`${err.stack}\n`);
    return EXIT.BAD_INPUT;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** True when this file is the process's entry point (not imported by a test or the bin shim). */
function isMainModule(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the CLI on the real process and exits with its code once stdout has been flushed. */
export async function main(): Promise<void> {
  // A closed pipe (`figure2 rules | head -1`) is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.OK);
  });
  const code = await runCli(process.argv.slice(2), nodeIo());
  process.stdout.write('', () => process.exit(code));
}

if (isMainModule()) await main();
