//! A minimal emitter of figure2's trace format v1 (NDJSON), standard library only: no serde, the
//! JSON is written by hand (`J` below), strings escaped.
//!
//! Paste `J` and `Tracer` into your Raft implementation: one Tracer per node, one method per event
//! kind, one JSON line per call, written at once. Call each method at the hook point the guide
//! names (docs/make-your-raft-checkable.md): `persist` after the fsync returns, `send` before the
//! message leaves, `recv` when the handler starts (its effects follow it), and so on.
//!
//! Built as a program, it writes a scripted 3-node run (a contested first election, one client
//! put, replicated, committed and applied everywhere), one file per node plus the client history:
//!
//!     rustc -O raft_trace.rs -o raft_trace
//!     ./raft_trace --out traces/                    # then: figure2 check --merge traces/*.ndjson
//!     ./raft_trace --out traces/ --bug double-vote  # n3 votes twice in term 1: RV-2, M-VOTE

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A JSON value: messages, log entries and client operations are built from it.
#[derive(Clone)]
pub enum J {
    Null,
    Bool(bool),
    Int(u64),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl From<bool> for J { fn from(b: bool) -> J { J::Bool(b) } }
impl From<u64> for J { fn from(n: u64) -> J { J::Int(n) } }
impl From<&str> for J { fn from(s: &str) -> J { J::Str(s.to_string()) } }
impl From<Option<&str>> for J { fn from(s: Option<&str>) -> J { s.map_or(J::Null, J::from) } }
impl From<Vec<J>> for J { fn from(v: Vec<J>) -> J { J::Arr(v) } }

/// `obj(&[("type", "RequestVote".into()), ("term", 1u64.into())])`
pub fn obj(fields: &[(&'static str, J)]) -> J { J::Obj(fields.to_vec()) }

impl J {
    pub fn write(&self, out: &mut String) {
        match self {
            J::Null => out.push_str("null"),
            J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            J::Int(n) => write!(out, "{}", n).unwrap(),
            J::Num(x) if x.is_finite() => write!(out, "{}", x).unwrap(), // Display never uses an exponent
            J::Num(_) => out.push_str("null"), // NaN and infinities are not JSON
            J::Str(s) => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        '\t' => out.push_str("\\t"),
                        c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
                        c => out.push(c), // UTF-8 passes through as is
                    }
                }
                out.push('"');
            }
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 { out.push(','); }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 { out.push(','); }
                    J::Str(key.to_string()).write(out);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// Writes one node's events (or, with node `None`, a client history) to an NDJSON file.
pub struct Tracer {
    /// The file, and the last ts written: it never goes back within a file (--merge needs that).
    out: Mutex<(File, f64)>,
    node: Option<String>,
    restarted: bool,
    /// Event time in ms; every process of one run must share the clock (--merge orders by ts).
    pub clock: fn() -> f64,
}

fn write_line(file: &mut File, event: &J) {
    let mut line = String::new();
    event.write(&mut line);
    line.push('\n');
    // File is unbuffered: the line reaches the OS now. A trace with a hole would mislead the checker.
    file.write_all(line.as_bytes()).expect("raft trace: write failed");
}

fn wall_clock_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_nanos() as f64 / 1e6)
}

impl Tracer {
    pub fn open(path: impl AsRef<Path>, node: Option<&str>, cluster: &[&str]) -> io::Result<Tracer> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        let restarted = file.metadata()?.len() > 0; // an earlier process of this node died
        if !restarted {
            let ids = cluster.iter().map(|&id| J::from(id)).collect::<Vec<_>>();
            write_line(&mut file, &obj(&[("ev", "header".into()), ("format", "raft-trace".into()), ("version", 1u64.into()), ("cluster", ids.into())]));
        }
        Ok(Tracer { out: Mutex::new((file, 0.0)), node: node.map(String::from), restarted, clock: wall_clock_ms })
    }

    pub fn emit(&self, ev: &'static str, fields: &[(&'static str, J)]) {
        let mut out = self.out.lock().unwrap();
        out.1 = out.1.max((self.clock)());
        let mut all = vec![("ev", J::from(ev)), ("ts", J::Num(out.1))];
        if let Some(node) = &self.node { all.push(("node", J::from(node.as_str()))); }
        all.extend_from_slice(fields);
        write_line(&mut out.0, &J::Obj(all));
    }

    // Node events. `voted_for` is None when the node has not voted; indices are 1-based, 0 means "none".
    pub fn init(&self, term: u64, voted_for: Option<&str>, last_index: u64, last_term: u64, snapshot_index: u64, snapshot_term: u64) {
        if self.restarted { self.emit("crash", &[]); } // volatile state was lost; init is what survived
        self.emit("init", &[("term", term.into()), ("votedFor", voted_for.into()), ("lastIndex", last_index.into()),
            ("lastTerm", last_term.into()), ("snapshotIndex", snapshot_index.into()), ("snapshotTerm", snapshot_term.into())]);
    }
    pub fn timeout(&self, kind: &str) { self.emit("timeout", &[("kind", kind.into())]); } // "election" | "heartbeat"
    pub fn role(&self, role: &str, term: u64) { self.emit("role", &[("role", role.into()), ("term", term.into())]); }
    pub fn persist(&self, term: u64, voted_for: Option<&str>, last_index: u64) {
        self.emit("persist", &[("term", term.into()), ("votedFor", voted_for.into()), ("lastIndex", last_index.into())]);
    }
    pub fn send(&self, to: &str, msg: &J) { self.emit("send", &[("to", to.into()), ("msg", msg.clone())]); }
    pub fn recv(&self, from: &str, msg: &J) { self.emit("recv", &[("from", from.into()), ("msg", msg.clone())]); }
    pub fn append(&self, entries: &[J]) { self.emit("append", &[("entries", entries.to_vec().into())]); } // {index, term, kind?, digest?}
    pub fn truncate(&self, from: u64) { self.emit("truncate", &[("from", from.into())]); }
    pub fn commit(&self, commit_index: u64) { self.emit("commit", &[("commitIndex", commit_index.into())]); }
    pub fn apply(&self, index: u64, term: u64, digest: Option<&str>) {
        let mut f = vec![("index", index.into()), ("term", term.into())];
        if let Some(d) = digest { f.push(("digest", d.into())); }
        self.emit("apply", &f);
    }

    // Client history (for linearizability): op is {kind: "get"|"put"|"delete"|"cas", key, value?, expected?}.
    pub fn invoke(&self, client: &str, op_id: u64, op: J, node: Option<&str>) {
        let mut f = vec![("client", client.into()), ("opId", op_id.into()), ("op", op)];
        if let Some(n) = node { f.push(("node", n.into())); }
        self.emit("invoke", &f);
    }
    /// `value`: None for a write; Some(J::Str(..)) or Some(J::Null) (absent) for a get.
    pub fn ok(&self, client: &str, op_id: u64, value: Option<J>) {
        let mut f = vec![("client", client.into()), ("opId", op_id.into())];
        if let Some(v) = value { f.push(("value", v)); }
        self.emit("ok", &f);
    }
    pub fn fail(&self, client: &str, op_id: u64, error: &str) {
        self.emit("fail", &[("client", client.into()), ("opId", op_id.into()), ("error", error.into())]);
    }
    pub fn info(&self, client: &str, op_id: u64, error: &str) { // outcome unknown (a timeout)
        self.emit("info", &[("client", client.into()), ("opId", op_id.into()), ("error", error.into())]);
    }
}

// ------------------------------------------------------------------------------------------------
// The driver: a scripted run, as the hooks of a real implementation would emit it.

use std::sync::atomic::{AtomicU64, Ordering};
static NOW: AtomicU64 = AtomicU64::new(0);
fn scripted_clock() -> f64 { NOW.load(Ordering::SeqCst) as f64 }
fn at(ms: u64) { NOW.store(ms, Ordering::SeqCst); }

fn rv(term: u64, cand: &str, lli: u64, llt: u64) -> J {
    obj(&[("type", "RequestVote".into()), ("term", term.into()), ("candidateId", cand.into()), ("lastLogIndex", lli.into()), ("lastLogTerm", llt.into())])
}
fn rvr(term: u64, granted: bool) -> J {
    obj(&[("type", "RequestVoteResponse".into()), ("term", term.into()), ("voteGranted", granted.into())])
}
fn ae(term: u64, leader: &str, pli: u64, plt: u64, entries: &[J], commit: u64) -> J {
    obj(&[("type", "AppendEntries".into()), ("term", term.into()), ("leaderId", leader.into()), ("prevLogIndex", pli.into()),
        ("prevLogTerm", plt.into()), ("entries", entries.to_vec().into()), ("leaderCommit", commit.into())])
}
fn aer(term: u64, success: bool, matched: u64) -> J {
    obj(&[("type", "AppendEntriesResponse".into()), ("term", term.into()), ("success", success.into()), ("matchIndex", matched.into())])
}

fn scripted_run(out: &str, bug: Option<&str>) -> io::Result<()> {
    let cluster = ["n1", "n2", "n3"];
    let open = |name: &str, node: Option<&str>| -> io::Result<Tracer> {
        let path = Path::new(out).join(format!("{}.ndjson", name));
        let _ = std::fs::remove_file(&path); // a fresh run; a leftover file would read as a restart
        let mut t = Tracer::open(&path, node, &cluster)?;
        t.clock = scripted_clock;
        Ok(t)
    };
    let (n1, n2, n3) = (open("n1", Some("n1"))?, open("n2", Some("n2"))?, open("n3", Some("n3"))?);
    let clients = open("clients", None)?;
    let noop = obj(&[("index", 1u64.into()), ("term", 1u64.into()), ("kind", "noop".into())]);
    let put = obj(&[("index", 2u64.into()), ("term", 1u64.into()), ("kind", "command".into()), ("digest", "put x=1".into())]);

    for t in [&n1, &n2, &n3] { t.init(0, None, 0, 0, 0, 0); }
    // n1 and n2 time out close together: both campaign in term 1.
    at(10);
    n1.timeout("election"); n1.role("candidate", 1); n1.persist(1, Some("n1"), 0);
    let vote_n1 = rv(1, "n1", 0, 0); n1.send("n2", &vote_n1); n1.send("n3", &vote_n1);
    at(11);
    n2.timeout("election"); n2.role("candidate", 1); n2.persist(1, Some("n2"), 0);
    let vote_n2 = rv(1, "n2", 0, 0); n2.send("n1", &vote_n2); n2.send("n3", &vote_n2);
    at(12);
    n3.recv("n1", &vote_n1); n3.role("follower", 1); n3.persist(1, Some("n1"), 0); n3.send("n1", &rvr(1, true));
    at(13);
    n1.recv("n2", &vote_n2); n1.send("n2", &rvr(1, false)); // it voted for itself in term 1
    n2.recv("n1", &vote_n1); n2.send("n1", &rvr(1, false));
    at(14);
    n3.recv("n2", &vote_n2);
    let mut n3_vote = "n1";
    if bug == Some("double-vote") { // the bug: n3 ignores votedFor and grants a second vote in term 1
        n3_vote = "n2"; n3.persist(1, Some("n2"), 0);
    }
    n3.send("n2", &rvr(1, n3_vote == "n2"));
    // n1 has n3's vote: a majority with its own. It appends its no-op and replicates it.
    at(15);
    n1.recv("n3", &rvr(1, true)); n1.role("leader", 1);
    n1.append(&[noop.clone()]); n1.persist(1, Some("n1"), 1);
    let ae1 = ae(1, "n1", 0, 0, &[noop.clone()], 0); n1.send("n2", &ae1); n1.send("n3", &ae1);
    at(16);
    n1.recv("n2", &rvr(1, false)); n2.recv("n1", &rvr(1, false));
    at(17);
    n2.recv("n1", &ae1); n2.role("follower", 1); n2.append(&[noop.clone()]); n2.persist(1, Some("n2"), 1); n2.send("n1", &aer(1, true, 1));
    n3.recv("n1", &ae1); n3.append(&[noop.clone()]); n3.persist(1, Some(n3_vote), 1); n3.send("n1", &aer(1, true, 1));
    at(18);
    n2.recv("n3", &rvr(1, n3_vote == "n2")); // late; n2 is a follower now and ignores it
    at(19);
    n1.recv("n2", &aer(1, true, 1)); n1.commit(1); n1.apply(1, 1, None);
    n1.recv("n3", &aer(1, true, 1));
    // A client puts x=1 through the leader.
    at(20);
    clients.invoke("c1", 1, obj(&[("kind", "put".into()), ("key", "x".into()), ("value", "1".into())]), Some("n1"));
    at(21);
    n1.append(&[put.clone()]); n1.persist(1, Some("n1"), 2);
    let ae2 = ae(1, "n1", 1, 1, &[put.clone()], 1); n1.send("n2", &ae2); n1.send("n3", &ae2);
    at(22);
    for (t, vote) in [(&n2, "n2"), (&n3, n3_vote)] {
        t.recv("n1", &ae2); t.append(&[put.clone()]); t.persist(1, Some(vote), 2);
        t.commit(1); t.apply(1, 1, None); t.send("n1", &aer(1, true, 2));
    }
    at(23);
    n1.recv("n2", &aer(1, true, 2)); n1.commit(2); n1.apply(2, 1, Some("put x=1"));
    at(24);
    clients.ok("c1", 1, None);
    n1.recv("n3", &aer(1, true, 2));
    // The next heartbeat carries leaderCommit 2: the followers commit and apply the put.
    at(30);
    n1.timeout("heartbeat");
    let hb = ae(1, "n1", 2, 1, &[], 2); n1.send("n2", &hb); n1.send("n3", &hb);
    at(31);
    for t in [&n2, &n3] {
        t.recv("n1", &hb); t.commit(2); t.apply(2, 1, Some("put x=1")); t.send("n1", &aer(1, true, 2));
    }
    at(32);
    n1.recv("n2", &aer(1, true, 2)); n1.recv("n3", &aer(1, true, 2));
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut out, mut bug) = ("traces".to_string(), None);
    let mut i = 0;
    while i < args.len() {
        match (args[i].as_str(), args.get(i + 1)) {
            ("--out", Some(dir)) => out = dir.clone(),
            ("--bug", Some(b)) if b == "double-vote" => bug = Some(b.clone()),
            _ => {
                eprintln!("usage: raft_trace [--out DIR] [--bug double-vote]");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    let result = std::fs::create_dir_all(&out).and_then(|_| scripted_run(&out, bug.as_deref()));
    if let Err(e) = result {
        eprintln!("raft_trace: {}", e);
        std::process::exit(2);
    }
    println!("wrote {}/n1.ndjson n2.ndjson n3.ndjson clients.ndjson", out);
}
