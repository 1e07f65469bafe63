/**
 * One measured pass over a trace file, in a process of its own so that its peak memory (maxRSS)
 * is the checker's alone: `tsx tools/bench/check-child.ts check|floor FILE` prints
 * {events, seconds, maxRssBytes} as JSON.
 */
import { createReadStream } from 'node:fs';
import { TraceChecker } from '../../traces/checker/checker.ts';
import { readTraceBatches } from '../../traces/reader.ts';

const [mode, file] = process.argv.slice(2);
if (file === undefined || (mode !== 'check' && mode !== 'floor')) {
  process.stderr.write('usage: check-child.ts check|floor FILE\n');
  process.exit(2);
}
const start = performance.now();
let events = 0;
let violations = 0;
if (mode === 'floor') {
  // Reading and JSON.parse of every line, no validation, no checking: what any NDJSON consumer pays.
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      if (line.length === 0) continue;
      JSON.parse(line);
      events++;
    }
  }
} else {
  const checker = new TraceChecker();
  for await (const batch of readTraceBatches(createReadStream(file))) {
    for (const item of batch) {
      if ('error' in item) throw new Error(`${file}:${item.line}: ${item.error.message}`);
      checker.feed({ file, line: item.line, event: item.event });
    }
  }
  const report = checker.finish();
  events = report.events;
  violations = report.violations.length;
}
const seconds = (performance.now() - start) / 1000;
process.stdout.write(`${JSON.stringify({ events, violations, seconds, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
