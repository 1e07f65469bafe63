/**
 * The leader's view of one follower (Figure 2's nextIndex and matchIndex, plus flow control), in
 * etcd-raft's three modes:
 * - probe: one AppendEntries at a time until the follower's log is found to match;
 * - replicate: entries pipelined optimistically, at most `maxInflightMessages` unacknowledged;
 * - snapshot: the follower needs entries the leader compacted; chunks of the snapshot are sent.
 *
 * Invariant: 0 ≤ matchIndex < nextIndex (L-3); matchIndex never decreases.
 */
import { assert } from './assert.ts';

export type ProgressMode = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  matchIndex = 0;
  nextIndex: number;
  mode: ProgressMode = 'probe';
  /** In probe mode: an AppendEntries is out and unanswered (send no other until it is, or a heartbeat passes). */
  probeSent = false;
  /** In replicate mode: last index of each unacknowledged AppendEntries, oldest first. */
  readonly inflight: number[] = [];
  /** In snapshot mode: the snapshot being sent and the next chunk offset the follower expects. */
  snapshotIndex = 0;
  snapshotOffset = 0;
  snapshotChunkOut = false;

  constructor(nextIndex: number) {
    this.nextIndex = nextIndex;
  }

  /** L-3: a success acknowledging entries up to `index` (from the request it answers). */
  acknowledge(index: number): boolean {
    const advanced = index > this.matchIndex;
    if (advanced) this.matchIndex = index;
    if (this.nextIndex <= this.matchIndex) this.nextIndex = this.matchIndex + 1;
    while (this.inflight.length > 0 && (this.inflight[0] as number) <= index) this.inflight.shift();
    // The probe found the match point: start pipelining. A heartbeat's success (anchored lower,
    // at matchIndex) says nothing about the probe and must not switch modes.
    if (this.mode === 'probe' && index >= this.nextIndex - 1) {
      this.mode = 'replicate';
      this.probeSent = false;
    }
    this.check();
    return advanced;
  }

  /** L-3: an inconsistency; back off to `nextIndex`, never below matchIndex + 1, and probe. */
  backOff(nextIndex: number): void {
    this.nextIndex = Math.max(this.matchIndex + 1, Math.min(this.nextIndex, nextIndex));
    this.mode = 'probe';
    this.probeSent = false;
    this.inflight.length = 0;
    this.check();
  }

  check(): void {
    assert(this.matchIndex >= 0 && this.matchIndex < this.nextIndex, () => `progress invariant broken: match ${this.matchIndex}, next ${this.nextIndex}`);
  }
}
