/**
 * Runs one `figure2` command, registered alone on a fresh program, as runCli would: a UsageError
 * is one line on stderr and exit 2, a commander error exit 2 (0 for --help), anything else an
 * internal error. For command tests that want that command's behaviour without the whole CLI.
 */
import { Command, CommanderError } from 'commander';
import { errorMessage, memoryIo, UsageError, type CliIo } from '../../tools/io.ts';

export interface CommandRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export type Register = (program: Command, io: CliIo, setExit: (code: number) => void) => void;

export async function runCommand(register: Register, name: string, argv: readonly string[]): Promise<CommandRun> {
  const io = memoryIo();
  let code = 0;
  const program = new Command('figure2').exitOverride().configureOutput({ writeOut: (t) => io.stdout(t), writeErr: (t) => io.stderr(t), outputError: () => {} });
  register(program, io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([name, ...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`figure2: ${err.message}\n`);
      code = 2;
    } else if (err instanceof CommanderError) {
      code = err.exitCode === 0 ? 0 : 2;
    } else {
      throw new Error(`internal error: ${errorMessage(err)}`);
    }
  }
  return { code, out: io.out(), err: io.err() };
}
