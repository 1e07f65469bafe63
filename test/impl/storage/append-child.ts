/**
 * The child process of kill.test.ts: opens a FileStorage and appends forever with concurrent
 * writers (group commit), compacting now and then, printing `ack <index>` for every save that
 * resolved — i.e. that the storage acknowledged as synced. The parent kills it with SIGKILL at a
 * random moment and checks that every acknowledged index survived.
 *
 * Usage: node --import tsx append-child.ts <dir> <writers> <segmentBytes>
 * Imports nothing but impl/ and child-data.ts (no vitest: this runs outside the test runner).
 */
import { FileStorage } from '../../../impl/storage/file-storage.ts';
import { childData } from './child-data.ts';

const [dir, writersArg, segmentArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: append-child.ts <dir> <writers> <segmentBytes>');
const writers = Number(writersArg ?? 8);
const segmentBytes = Number(segmentArg ?? 16384);

const { storage, report } = await FileStorage.open(dir, { segmentBytes, cacheBytes: 64 * 1024 });
// Pipes are synchronous on Linux: a line written here is in the parent's pipe before the next await.
process.stdout.write(`ready ${storage.lastIndex()} ${report.bytesTruncated}\n`);

let compacting = false;
async function writer(id: number): Promise<void> {
  for (;;) {
    const index = storage.lastIndex() + 1;
    const hardState = index % 5 === 0 ? { currentTerm: 1, votedFor: 'n1', commitIndex: index - 1 } : undefined;
    await storage.save({ entries: [{ index, term: 1, kind: 'command', data: childData(index) }], hardState });
    process.stdout.write(`ack ${index}\n`);
    // One compaction at a time, at an index well inside the log, from writer 0 only.
    if (id === 0 && index % 97 === 0 && !compacting) {
      const at = index - 40;
      if (at > storage.firstIndex()) {
        compacting = true;
        await storage.compact({ lastIncludedIndex: at, lastIncludedTerm: 1, voters: ['n1'], data: `upto ${at}` });
        compacting = false;
        process.stdout.write(`compacted ${at}\n`);
      }
    }
  }
}

await Promise.all(Array.from({ length: writers }, (_, id) => writer(id)));
