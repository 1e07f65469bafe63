#!/usr/bin/env node
// The `figure2` package bin. The CLI is TypeScript (tools/cli.ts) and ships as source, so this
// plain-JS shim loads it through tsx's ESM API (`tsImport`, tsx ≥ 4.8), scoped to that import so
// nothing else in the process is affected, then hands it the real process.
import { tsImport } from 'tsx/esm/api';

try {
  const cli = await tsImport('../tools/cli.ts', import.meta.url);
  await cli.main();
} catch (err) {
  // Only a broken install reaches here (tsx missing, a syntax error): still one line, not a stack.
  process.stderr.write(`figure2: cannot start (this is a bug or a broken install): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  process.exitCode = 2;
}
