#!/usr/bin/env python3
"""A minimal emitter of figure2's trace format v1 (NDJSON), standard library only.

Paste the `Tracer` class into your Raft implementation: one Tracer per node, one method per event
kind, one JSON line per call, flushed at once. Call each method at the hook point the guide names
(docs/make-your-raft-checkable.md): `persist` after the fsync returns, `send` before the message
leaves, `recv` when the handler starts (its effects follow it), and so on.

Run as a script, it writes a scripted 3-node run (a contested first election, one client put,
replicated, committed and applied everywhere), one file per node plus the client history:

    python3 raft_trace.py --out traces/                     # then: figure2 check --merge traces/*.ndjson
    python3 raft_trace.py --out traces/ --bug double-vote   # n3 votes twice in term 1: RV-2, M-VOTE
"""
import json
import os
import threading
import time


class Tracer:
    """Writes one node's events (or, with node=None, a client history) to an NDJSON file."""

    def __init__(self, path, node, cluster, clock=None):
        self.node = node
        # Milliseconds; every process of one run must share the clock (--merge orders by ts).
        self.clock = clock or (lambda: time.time_ns() / 1e6)
        self.lock = threading.Lock()
        self.ts = 0  # the last ts written: it never goes back within a file (--merge needs that)
        self.file = open(path, "a", encoding="utf-8")
        self.restarted = self.file.tell() > 0  # the file has events: an earlier process died
        if not self.restarted:
            self._write({"ev": "header", "format": "raft-trace", "version": 1, "cluster": list(cluster)})

    def _write(self, event):
        self.file.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.file.flush()

    def emit(self, ev, **fields):
        with self.lock:
            self.ts = max(self.ts, self.clock())
            event = {"ev": ev, "ts": self.ts}
            if self.node is not None:
                event["node"] = self.node
            event.update(fields)
            self._write(event)

    # Node events. votedFor is a node id or None; indices are 1-based, 0 means "none".
    def init(self, term, voted_for, last_index, last_term, snapshot_index=0, snapshot_term=0, **extra):
        if self.restarted:
            self.emit("crash")  # volatile state was lost; init below is what survived
        self.emit("init", term=term, votedFor=voted_for, lastIndex=last_index, lastTerm=last_term,
                  snapshotIndex=snapshot_index, snapshotTerm=snapshot_term, **extra)

    def timeout(self, kind): self.emit("timeout", kind=kind)  # "election" | "heartbeat"
    def role(self, role, term): self.emit("role", role=role, term=term)
    def persist(self, term, voted_for, last_index): self.emit("persist", term=term, votedFor=voted_for, lastIndex=last_index)
    def send(self, to, msg): self.emit("send", to=to, msg=msg)
    def recv(self, frm, msg): self.emit("recv", **{"from": frm, "msg": msg})
    def append(self, entries): self.emit("append", entries=entries)  # [{"index", "term", "kind"?, "digest"?}]
    def truncate(self, frm): self.emit("truncate", **{"from": frm})
    def commit(self, commit_index): self.emit("commit", commitIndex=commit_index)
    def apply(self, index, term, digest=None):
        self.emit("apply", index=index, term=term, **({} if digest is None else {"digest": digest}))

    # Client history (for linearizability): op is {"kind": "get"|"put"|"delete"|"cas", "key", "value"?, "expected"?}.
    def invoke(self, client, op_id, op, node=None):
        self.emit("invoke", client=client, opId=op_id, op=op, **({} if node is None else {"node": node}))
    _NO_VALUE = object()

    def ok(self, client, op_id, value=_NO_VALUE):  # a get passes its result: a string, or None when absent
        self.emit("ok", client=client, opId=op_id, **({} if value is Tracer._NO_VALUE else {"value": value}))
    def fail(self, client, op_id, error): self.emit("fail", client=client, opId=op_id, error=error)
    def info(self, client, op_id, error=None):
        self.emit("info", client=client, opId=op_id, **({} if error is None else {"error": error}))


# ------------------------------------------------------------------------------------------------
# The driver: a scripted run, as the hooks of a real implementation would emit it.

def rv(term, cand, lli, llt): return {"type": "RequestVote", "term": term, "candidateId": cand, "lastLogIndex": lli, "lastLogTerm": llt}
def rvr(term, granted): return {"type": "RequestVoteResponse", "term": term, "voteGranted": granted}
def ae(term, leader, pli, plt, entries, commit):
    return {"type": "AppendEntries", "term": term, "leaderId": leader, "prevLogIndex": pli, "prevLogTerm": plt,
            "entries": entries, "leaderCommit": commit}
def aer(term, success, match): return {"type": "AppendEntriesResponse", "term": term, "success": success, "matchIndex": match}


def scripted_run(out, bug=None):
    now = [0]
    clock = lambda: now[0]
    cluster = ["n1", "n2", "n3"]
    for name in cluster + ["clients"]:
        path = os.path.join(out, name + ".ndjson")
        if os.path.exists(path):
            os.remove(path)  # a fresh run; a leftover file would read as a restart
    n1, n2, n3 = (Tracer(os.path.join(out, n + ".ndjson"), n, cluster, clock) for n in cluster)
    clients = Tracer(os.path.join(out, "clients.ndjson"), None, cluster, clock)
    noop = {"index": 1, "term": 1, "kind": "noop"}
    put = {"index": 2, "term": 1, "kind": "command", "digest": "put x=1"}

    for t in (n1, n2, n3):
        t.init(term=0, voted_for=None, last_index=0, last_term=0)
    # n1 and n2 time out close together: both campaign in term 1.
    now[0] = 10
    n1.timeout("election"); n1.role("candidate", 1); n1.persist(1, "n1", 0)
    vote_n1 = rv(1, "n1", 0, 0); n1.send("n2", vote_n1); n1.send("n3", vote_n1)
    now[0] = 11
    n2.timeout("election"); n2.role("candidate", 1); n2.persist(1, "n2", 0)
    vote_n2 = rv(1, "n2", 0, 0); n2.send("n1", vote_n2); n2.send("n3", vote_n2)
    now[0] = 12
    n3.recv("n1", vote_n1); n3.role("follower", 1); n3.persist(1, "n1", 0); n3.send("n1", rvr(1, True))
    now[0] = 13
    n1.recv("n2", vote_n2); n1.send("n2", rvr(1, False))  # it voted for itself in term 1
    n2.recv("n1", vote_n1); n2.send("n1", rvr(1, False))
    now[0] = 14
    n3.recv("n2", vote_n2)
    n3_vote = "n1"
    if bug == "double-vote":  # the bug: n3 ignores votedFor and grants a second vote in term 1
        n3_vote = "n2"; n3.persist(1, "n2", 0)
    n3.send("n2", rvr(1, n3_vote == "n2"))
    # n1 has n3's vote: a majority with its own. It appends its no-op and replicates it.
    now[0] = 15
    n1.recv("n3", rvr(1, True)); n1.role("leader", 1)
    n1.append([noop]); n1.persist(1, "n1", 1)
    ae1 = ae(1, "n1", 0, 0, [noop], 0); n1.send("n2", ae1); n1.send("n3", ae1)
    now[0] = 16
    n1.recv("n2", rvr(1, False)); n2.recv("n1", rvr(1, False))
    now[0] = 17
    n2.recv("n1", ae1); n2.role("follower", 1); n2.append([noop]); n2.persist(1, "n2", 1); n2.send("n1", aer(1, True, 1))
    n3.recv("n1", ae1); n3.append([noop]); n3.persist(1, n3_vote, 1); n3.send("n1", aer(1, True, 1))
    now[0] = 18
    n2.recv("n3", rvr(1, n3_vote == "n2"))  # late; n2 is a follower now and ignores it
    now[0] = 19
    n1.recv("n2", aer(1, True, 1)); n1.commit(1); n1.apply(1, 1)
    n1.recv("n3", aer(1, True, 1))
    # A client puts x=1 through the leader.
    now[0] = 20
    clients.invoke("c1", 1, {"kind": "put", "key": "x", "value": "1"}, node="n1")
    now[0] = 21
    n1.append([put]); n1.persist(1, "n1", 2)
    ae2 = ae(1, "n1", 1, 1, [put], 1); n1.send("n2", ae2); n1.send("n3", ae2)
    now[0] = 22
    for t, vote in ((n2, "n2"), (n3, n3_vote)):
        t.recv("n1", ae2); t.append([put]); t.persist(1, vote, 2)
        t.commit(1); t.apply(1, 1); t.send("n1", aer(1, True, 2))
    now[0] = 23
    n1.recv("n2", aer(1, True, 2)); n1.commit(2); n1.apply(2, 1, "put x=1")
    now[0] = 24
    clients.ok("c1", 1)
    n1.recv("n3", aer(1, True, 2))
    # The next heartbeat carries leaderCommit 2: the followers commit and apply the put.
    now[0] = 30
    n1.timeout("heartbeat")
    hb = ae(1, "n1", 2, 1, [], 2); n1.send("n2", hb); n1.send("n3", hb)
    now[0] = 31
    for t in (n2, n3):
        t.recv("n1", hb); t.commit(2); t.apply(2, 1, "put x=1"); t.send("n1", aer(1, True, 2))
    now[0] = 32
    n1.recv("n2", aer(1, True, 2)); n1.recv("n3", aer(1, True, 2))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a scripted 3-node Raft run as trace format v1, one file per node.")
    parser.add_argument("--out", default="traces", help="directory for n1.ndjson, n2.ndjson, n3.ndjson, clients.ndjson")
    parser.add_argument("--bug", choices=["double-vote"], help="break a rule on purpose")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    scripted_run(args.out, args.bug)
    print(f"wrote {args.out}/n1.ndjson n2.ndjson n3.ndjson clients.ndjson")
