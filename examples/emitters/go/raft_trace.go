// A minimal emitter of figure2's trace format v1 (NDJSON), standard library only.
//
// Paste the Tracer type into your Raft implementation: one Tracer per node, one method per event
// kind, one JSON line per call, written at once. Call each method at the hook point the guide
// names (docs/make-your-raft-checkable.md): Persist after the fsync returns, Send before the
// message leaves, Recv when the handler starts (its effects follow it), and so on.
//
// Run as a program, it writes a scripted 3-node run (a contested first election, one client put,
// replicated, committed and applied everywhere), one file per node plus the client history:
//
//	go run raft_trace.go --out traces/                    # then: figure2 check --merge traces/*.ndjson
//	go run raft_trace.go --out traces/ --bug double-vote  # n3 votes twice in term 1: RV-2, M-VOTE
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// M is a JSON object: a message, a log entry, a client operation.
type M = map[string]any

// Tracer writes one node's events (or, with node "", a client history) to an NDJSON file.
type Tracer struct {
	mu        sync.Mutex
	file      *os.File
	node      string
	restarted bool
	last      float64 // the last ts written: it never goes back within a file (--merge needs that)
	// Now is the event time in ms; every process of one run must share the clock (--merge orders by ts).
	Now func() float64
}

func NewTracer(path, node string, cluster []string) (*Tracer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t := &Tracer{file: f, node: node, restarted: info.Size() > 0, Now: func() float64 { return float64(time.Now().UnixNano()) / 1e6 }}
	if !t.restarted { // a non-empty file means an earlier process of this node died: no second header
		t.write(`{"ev":"header","format":"raft-trace","version":1,"cluster":` + js(cluster) + `}`)
	}
	return t, nil
}

// emit writes {"ev":…,"ts":…,"node":…,<fields>} as one line (ev, ts and node first, for human readers).
func (t *Tracer) emit(ev string, fields M) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now := t.Now(); now > t.last {
		t.last = now
	}
	line := `{"ev":"` + ev + `","ts":` + js(t.last)
	if t.node != "" {
		line += `,"node":` + js(t.node)
	}
	if rest := js(fields); rest != "{}" {
		line += "," + rest[1:] // the event's own fields (encoding/json sorts their keys)
	} else {
		line += "}"
	}
	t.write(line)
}

func (t *Tracer) write(line string) {
	if _, err := t.file.WriteString(line + "\n"); err != nil { // unbuffered: the line reaches the OS now
		panic("raft trace: " + err.Error()) // a trace with a hole in it would mislead the checker
	}
}

// js is JSON encoding (strings escaped) of one value.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("raft trace: " + err.Error())
	}
	return string(b)
}

// vote maps Go's "no vote" ("") to JSON null.
func vote(votedFor string) any {
	if votedFor == "" {
		return nil
	}
	return votedFor
}

// Node events. Indices are 1-based; 0 means "none".
func (t *Tracer) Init(term uint64, votedFor string, lastIndex, lastTerm, snapshotIndex, snapshotTerm uint64) {
	if t.restarted {
		t.emit("crash", M{}) // volatile state was lost; Init below is what survived
	}
	t.emit("init", M{"term": term, "votedFor": vote(votedFor), "lastIndex": lastIndex, "lastTerm": lastTerm, "snapshotIndex": snapshotIndex, "snapshotTerm": snapshotTerm})
}
func (t *Tracer) Timeout(kind string)           { t.emit("timeout", M{"kind": kind}) } // "election" | "heartbeat"
func (t *Tracer) Role(role string, term uint64) { t.emit("role", M{"role": role, "term": term}) }
func (t *Tracer) Persist(term uint64, votedFor string, lastIndex uint64) {
	t.emit("persist", M{"term": term, "votedFor": vote(votedFor), "lastIndex": lastIndex})
}
func (t *Tracer) Send(to string, msg M)     { t.emit("send", M{"to": to, "msg": msg}) }
func (t *Tracer) Recv(from string, msg M)   { t.emit("recv", M{"from": from, "msg": msg}) }
func (t *Tracer) Append(entries []M)        { t.emit("append", M{"entries": entries}) } // {"index","term","kind"?,"digest"?}
func (t *Tracer) Truncate(from uint64)      { t.emit("truncate", M{"from": from}) }
func (t *Tracer) Commit(commitIndex uint64) { t.emit("commit", M{"commitIndex": commitIndex}) }
func (t *Tracer) Apply(index, term uint64, digest string) { // digest "" for none (a no-op)
	e := M{"index": index, "term": term}
	if digest != "" {
		e["digest"] = digest
	}
	t.emit("apply", e)
}

// Client history (for linearizability): op is M{"kind": "get"|"put"|"delete"|"cas", "key", "value"?, "expected"?}.
func (t *Tracer) Invoke(client string, opID int, op M, node string) { // node: where it was sent, or ""
	e := M{"client": client, "opId": opID, "op": op}
	if node != "" {
		e["node"] = node
	}
	t.emit("invoke", e)
}
func (t *Tracer) Ok(client string, opID int, value ...any) { // a get passes its result: a string, or nil when absent
	e := M{"client": client, "opId": opID}
	if len(value) > 0 {
		e["value"] = value[0]
	}
	t.emit("ok", e)
}
func (t *Tracer) Fail(client string, opID int, err string) {
	t.emit("fail", M{"client": client, "opId": opID, "error": err})
}
func (t *Tracer) Info(client string, opID int, err string) { // outcome unknown (a timeout)
	t.emit("info", M{"client": client, "opId": opID, "error": err})
}

// ------------------------------------------------------------------------------------------------
// The driver: a scripted run, as the hooks of a real implementation would emit it.

func rv(term uint64, cand string, lli, llt uint64) M {
	return M{"type": "RequestVote", "term": term, "candidateId": cand, "lastLogIndex": lli, "lastLogTerm": llt}
}
func rvr(term uint64, granted bool) M {
	return M{"type": "RequestVoteResponse", "term": term, "voteGranted": granted}
}
func ae(term uint64, leader string, pli, plt uint64, entries []M, commit uint64) M {
	return M{"type": "AppendEntries", "term": term, "leaderId": leader, "prevLogIndex": pli, "prevLogTerm": plt, "entries": entries, "leaderCommit": commit}
}
func aer(term uint64, success bool, match uint64) M {
	return M{"type": "AppendEntriesResponse", "term": term, "success": success, "matchIndex": match}
}

func scriptedRun(out, bug string) error {
	now := 0.0
	cluster := []string{"n1", "n2", "n3"}
	open := func(name, node string) (*Tracer, error) {
		path := filepath.Join(out, name+".ndjson")
		os.Remove(path) // a fresh run; a leftover file would read as a restart
		t, err := NewTracer(path, node, cluster)
		if t != nil {
			t.Now = func() float64 { return now }
		}
		return t, err
	}
	var ts [4]*Tracer
	for i, name := range []string{"n1", "n2", "n3", "clients"} {
		node := name
		if name == "clients" {
			node = ""
		}
		var err error
		if ts[i], err = open(name, node); err != nil {
			return err
		}
	}
	n1, n2, n3, clients := ts[0], ts[1], ts[2], ts[3]
	noop := M{"index": 1, "term": 1, "kind": "noop"}
	put := M{"index": 2, "term": 1, "kind": "command", "digest": "put x=1"}

	for _, t := range []*Tracer{n1, n2, n3} {
		t.Init(0, "", 0, 0, 0, 0)
	}
	// n1 and n2 time out close together: both campaign in term 1.
	now = 10
	n1.Timeout("election")
	n1.Role("candidate", 1)
	n1.Persist(1, "n1", 0)
	voteN1 := rv(1, "n1", 0, 0)
	n1.Send("n2", voteN1)
	n1.Send("n3", voteN1)
	now = 11
	n2.Timeout("election")
	n2.Role("candidate", 1)
	n2.Persist(1, "n2", 0)
	voteN2 := rv(1, "n2", 0, 0)
	n2.Send("n1", voteN2)
	n2.Send("n3", voteN2)
	now = 12
	n3.Recv("n1", voteN1)
	n3.Role("follower", 1)
	n3.Persist(1, "n1", 0)
	n3.Send("n1", rvr(1, true))
	now = 13
	n1.Recv("n2", voteN2)
	n1.Send("n2", rvr(1, false)) // it voted for itself in term 1
	n2.Recv("n1", voteN1)
	n2.Send("n1", rvr(1, false))
	now = 14
	n3.Recv("n2", voteN2)
	n3Vote := "n1"
	if bug == "double-vote" { // the bug: n3 ignores votedFor and grants a second vote in term 1
		n3Vote = "n2"
		n3.Persist(1, "n2", 0)
	}
	n3.Send("n2", rvr(1, n3Vote == "n2"))
	// n1 has n3's vote: a majority with its own. It appends its no-op and replicates it.
	now = 15
	n1.Recv("n3", rvr(1, true))
	n1.Role("leader", 1)
	n1.Append([]M{noop})
	n1.Persist(1, "n1", 1)
	ae1 := ae(1, "n1", 0, 0, []M{noop}, 0)
	n1.Send("n2", ae1)
	n1.Send("n3", ae1)
	now = 16
	n1.Recv("n2", rvr(1, false))
	n2.Recv("n1", rvr(1, false))
	now = 17
	n2.Recv("n1", ae1)
	n2.Role("follower", 1)
	n2.Append([]M{noop})
	n2.Persist(1, "n2", 1)
	n2.Send("n1", aer(1, true, 1))
	n3.Recv("n1", ae1)
	n3.Append([]M{noop})
	n3.Persist(1, n3Vote, 1)
	n3.Send("n1", aer(1, true, 1))
	now = 18
	n2.Recv("n3", rvr(1, n3Vote == "n2")) // late; n2 is a follower now and ignores it
	now = 19
	n1.Recv("n2", aer(1, true, 1))
	n1.Commit(1)
	n1.Apply(1, 1, "")
	n1.Recv("n3", aer(1, true, 1))
	// A client puts x=1 through the leader.
	now = 20
	clients.Invoke("c1", 1, M{"kind": "put", "key": "x", "value": "1"}, "n1")
	now = 21
	n1.Append([]M{put})
	n1.Persist(1, "n1", 2)
	ae2 := ae(1, "n1", 1, 1, []M{put}, 1)
	n1.Send("n2", ae2)
	n1.Send("n3", ae2)
	now = 22
	for _, f := range []struct {
		t    *Tracer
		vote string
	}{{n2, "n2"}, {n3, n3Vote}} {
		f.t.Recv("n1", ae2)
		f.t.Append([]M{put})
		f.t.Persist(1, f.vote, 2)
		f.t.Commit(1)
		f.t.Apply(1, 1, "")
		f.t.Send("n1", aer(1, true, 2))
	}
	now = 23
	n1.Recv("n2", aer(1, true, 2))
	n1.Commit(2)
	n1.Apply(2, 1, "put x=1")
	now = 24
	clients.Ok("c1", 1)
	n1.Recv("n3", aer(1, true, 2))
	// The next heartbeat carries leaderCommit 2: the followers commit and apply the put.
	now = 30
	n1.Timeout("heartbeat")
	hb := ae(1, "n1", 2, 1, []M{}, 2)
	n1.Send("n2", hb)
	n1.Send("n3", hb)
	now = 31
	for _, t := range []*Tracer{n2, n3} {
		t.Recv("n1", hb)
		t.Commit(2)
		t.Apply(2, 1, "put x=1")
		t.Send("n1", aer(1, true, 2))
	}
	now = 32
	n1.Recv("n2", aer(1, true, 2))
	n1.Recv("n3", aer(1, true, 2))
	return nil
}

func main() {
	out := flag.String("out", "traces", "directory for n1.ndjson, n2.ndjson, n3.ndjson, clients.ndjson")
	bug := flag.String("bug", "", "break a rule on purpose: double-vote")
	flag.Parse()
	if *bug != "" && *bug != "double-vote" {
		fmt.Fprintln(os.Stderr, "--bug: expected double-vote, got", *bug)
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := scriptedRun(*out, *bug); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("wrote %s/n1.ndjson n2.ndjson n3.ndjson clients.ndjson\n", *out)
}
