/**
 * Exports an XState v5 machine as a diagram (Mermaid `stateDiagram-v2`, Graphviz DOT) or as a
 * JSON graph. It is generic over any machine — it walks `machine.root` (StateNode `.states`,
 * `.transitions`, `.always`, `.initial`) and reads each transition's `meta.rules` — so the server
 * statechart can change shape without touching this file.
 *
 * Output is deterministic: states and transitions appear in the machine's definition order (which
 * XState preserves, and which is also the transitions' priority order), never in hash or
 * discovery order, because the README embeds the Mermaid diagram and a test compares it.
 *
 * Diagram conventions (Mermaid and DOT draw the same edges):
 * - A transition is labelled `EVENT [guard] / RULE, RULE`; eventless (`always`) transitions use
 *   the event name `always`.
 * - Transitions that differ only in their event (same source, target, guard and rules) are drawn
 *   as one edge listing the events, e.g. `REQUEST_VOTE, APPEND_ENTRIES [hasHigherTerm] / ALL-2`:
 *   Figure 2's "any RPC with a higher term" is one idea, not six arrows.
 * - Targetless transitions (internal: actions only, the state is not left) are drawn as a
 *   self-loop per event listing only their rule IDs — `APPEND_ENTRIES / AE-1, AE-2, AE-3` —
 *   without guards: a role handles most messages with several guarded branches, and one loop per
 *   branch makes the diagram unreadable. Which branch is which stays in the JSON graph. DOT goes
 *   one step further and draws all internal transitions of a state as a single dashed loop with
 *   one line per event (Graphviz stacks loops until their labels collide).
 * - Self-transitions with a target (`target: 'candidate'` from candidate: leave and re-enter)
 *   are real transitions and drawn like any other, guard included.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** A state of the JSON graph. `id` is XState's (dotted path from the machine id). */
export interface ChartState {
  readonly id: string;
  readonly key: string;
  /** Parent state id; `null` for the machine's root. */
  readonly parent: string | null;
  readonly type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  /** For compound states: the id of the initial child. */
  readonly initial?: string;
  readonly description?: string;
}

/** A transition of the JSON graph: one per XState transition definition (and per target). */
export interface ChartTransition {
  readonly source: string;
  /** Target state id; `null` for a targetless (internal) transition. */
  readonly target: string | null;
  /** The event type; `always` for eventless transitions. */
  readonly event: string;
  /** The guard's name (`and(a, not(b))` for combinators, `inline` for anonymous functions). */
  readonly guard: string | null;
  /** `meta.rules` of the transition (rule IDs), in the order given. */
  readonly rules: readonly string[];
  readonly description: string | null;
  /** XState `reenter`: a self-transition that exits and re-enters its target. */
  readonly reenter: boolean;
}

/** The whole machine as data: `figure2 chart --format json`. */
export interface ChartGraph {
  readonly machine: string;
  readonly states: readonly ChartState[];
  readonly transitions: readonly ChartTransition[];
}

/** The name eventless transitions get in every export. */
export const ALWAYS_EVENT = 'always';

/** The machine as a plain graph: every state and every transition definition, in definition order. */
export function toJsonGraph(machine: AnyStateMachine): ChartGraph {
  const states: ChartState[] = [];
  const transitions: ChartTransition[] = [];
  for (const node of walk(machine.root)) {
    const initial = node.type === 'compound' ? node.initial.target[0]?.id : undefined;
    states.push({
      id: node.id,
      key: node.key,
      parent: node.parent?.id ?? null,
      type: node.type,
      ...(initial === undefined ? {} : { initial }),
      ...(node.description === undefined ? {} : { description: node.description }),
    });
    const defs: AnyTransitionDefinition[] = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    for (const t of defs) {
      const base = {
        source: node.id,
        event: t.eventType === '' ? ALWAYS_EVENT : String(t.eventType),
        guard: t.guard === undefined ? null : guardName(t.guard),
        rules: rulesOf(t.meta),
        description: t.description ?? null,
        reenter: t.reenter,
      };
      const targets = t.target ?? [];
      if (targets.length === 0) transitions.push({ ...base, target: null });
      // Several targets only happen with parallel states; one record each keeps `target` scalar.
      for (const target of targets) transitions.push({ ...base, target: target.id });
    }
  }
  return { machine: machine.root.id, states, transitions };
}

/** Mermaid `stateDiagram-v2` text (see the conventions at the top of this file). */
export function toMermaid(machine: AnyStateMachine): string {
  const graph = toJsonGraph(machine);
  const tree = indexStates(graph);
  const edges = diagramEdges(graph);
  const ids = mermaidIds(graph.states);
  const idOf = (state: string): string => ids.get(state) ?? state;
  const rootId = graph.states[0]?.id ?? '';
  // Mermaid cannot attach an edge to the diagram itself, so the root becomes a composite state
  // only when it has transitions of its own.
  const rootHasEdges = edges.some((e) => e.source === rootId);
  const edgesByContainer = groupBy(edges, (e) => edgeContainer(e, tree));

  const lines: string[] = ['stateDiagram-v2', `  %% generated by figure2 chart from the "${sanitizeMermaid(graph.machine)}" machine; do not edit`];
  const edgeLine = (pad: string, e: DiagramEdge): string =>
    `${pad}${idOf(e.source)} --> ${idOf(e.target ?? e.source)} : ${sanitizeMermaid(edgeLabel(e))}`;
  // The inside of a composite state: initial marker, children, then the edges it contains.
  const emitBody = (id: string, depth: number): void => {
    const state = tree.get(id);
    const pad = '  '.repeat(depth);
    if (state?.initial !== undefined) lines.push(`${pad}[*] --> ${idOf(state.initial)}`);
    tree.children(id).forEach((child, i) => {
      // Regions of a parallel state are separated by `--` in Mermaid.
      if (state?.type === 'parallel' && i > 0) lines.push(`${pad}--`);
      emitState(child, depth);
    });
    for (const e of edgesByContainer.get(id) ?? []) lines.push(edgeLine(pad, e));
  };
  const emitState = (id: string, depth: number): void => {
    const state = tree.get(id);
    if (state === undefined) return;
    const pad = '  '.repeat(depth);
    const mid = idOf(id);
    // A display name differing from the id is declared first; `state "x" as y {` is not Mermaid.
    if (state.key !== mid) lines.push(`${pad}state "${sanitizeMermaid(state.key)}" as ${mid}`);
    if (tree.children(id).length === 0) {
      if (state.key === mid) lines.push(`${pad}${mid}`);
    } else {
      lines.push(`${pad}state ${mid} {`);
      emitBody(id, depth + 1);
      lines.push(`${pad}}`);
    }
    if (state.description !== undefined) lines.push(`${pad}${mid} : ${sanitizeMermaid(state.description)}`);
    if (state.type === 'final') lines.push(`${pad}${mid} --> [*]`);
  };
  if (rootHasEdges) {
    lines.push(`  [*] --> ${idOf(rootId)}`);
    emitState(rootId, 1);
    for (const e of edgesByContainer.get(ROOT_CONTAINER) ?? []) lines.push(edgeLine('  ', e));
  } else {
    emitBody(rootId, 1);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Graphviz DOT: compound states become clusters. Graphviz cannot end an edge on a cluster, so
 * each composite state gets a small point node (its initial pseudo-state) that edges to or from
 * the composite attach to, clipped at the cluster border with `lhead`/`ltail`.
 */
export function toDot(machine: AnyStateMachine): string {
  const graph = toJsonGraph(machine);
  const tree = indexStates(graph);
  const edges = diagramEdges(graph);
  const rootId = graph.states[0]?.id ?? '';
  const composite = (id: string): boolean => tree.children(id).length > 0;
  const anchor = (id: string): string => (composite(id) ? `${id}.[*]` : id);
  const cluster = (id: string): string => `cluster_${id}`;

  const lines: string[] = [
    `// generated by figure2 chart from the "${graph.machine}" machine; do not edit`,
    `digraph ${dotString(graph.machine)} {`,
    '  compound=true;',
    '  rankdir=LR;',
    '  node [shape=box, style=rounded, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=10];',
  ];
  const emitState = (id: string, depth: number): void => {
    const state = tree.get(id);
    if (state === undefined) return;
    const pad = '  '.repeat(depth);
    const children = tree.children(id);
    if (children.length === 0) {
      const shape = state.type === 'final' ? ', peripheries=2' : '';
      const tooltip = state.description === undefined ? '' : `, tooltip=${dotString(state.description)}`;
      lines.push(`${pad}${dotString(id)} [label=${dotString(state.key)}${shape}${tooltip}];`);
      return;
    }
    const isRoot = id === rootId;
    const inner = isRoot ? depth : depth + 1;
    const innerPad = '  '.repeat(inner);
    if (!isRoot) {
      lines.push(`${pad}subgraph ${dotString(cluster(id))} {`);
      lines.push(`${innerPad}label=${dotString(state.key)};`);
      lines.push(`${innerPad}style=rounded;`);
    }
    lines.push(`${innerPad}${dotString(anchor(id))} [shape=point, width=0.12, label=""];`);
    if (state.initial !== undefined) {
      const target = state.initial;
      const lhead = composite(target) ? ` [lhead=${dotString(cluster(target))}]` : '';
      lines.push(`${innerPad}${dotString(anchor(id))} -> ${dotString(anchor(target))}${lhead};`);
    }
    for (const child of children) emitState(child, inner);
    if (!isRoot) lines.push(`${pad}}`);
  };
  emitState(rootId, 1);
  // Internal transitions of a state become one dashed loop, one label line per event: Graphviz
  // stacks separate loops on top of each other until their labels overlap.
  const internal = groupBy(
    edges.filter((e) => e.target === null),
    (e) => e.source,
  );
  const drawnInternal = new Set<string>();
  for (const e of edges) {
    if (e.target === null) {
      if (drawnInternal.has(e.source)) continue;
      drawnInternal.add(e.source);
      const label = (internal.get(e.source) ?? []).map((i) => `${i.events.join(', ')}${i.rules.length > 0 ? ` / ${i.rules.join(', ')}` : ''}`).join('\n');
      lines.push(`  ${dotString(anchor(e.source))} -> ${dotString(anchor(e.source))} [label=${dotString(label)}, style=dashed];`);
      continue;
    }
    const target = e.target;
    const attrs = [`label=${dotString(dotLabel(e))}`];
    // A loop on a composite stays on its point node; clipping it at its own border is meaningless.
    if (target !== e.source) {
      if (composite(e.source) && e.source !== rootId && !isAncestor(e.source, target, tree)) attrs.push(`ltail=${dotString(cluster(e.source))}`);
      if (composite(target) && target !== rootId && !isAncestor(target, e.source, tree)) attrs.push(`lhead=${dotString(cluster(target))}`);
    }
    lines.push(`  ${dotString(anchor(e.source))} -> ${dotString(anchor(target))} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** A guard as a short name: a named guard's name, combinators spelled out, `inline` otherwise. */
export function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    const g = guard as { check?: { name?: string }; guards?: unknown[]; stateValue?: unknown; name?: string };
    const combinator = { checkAnd: 'and', checkOr: 'or', checkNot: 'not' }[g.check?.name ?? ''];
    if (combinator !== undefined && Array.isArray(g.guards)) return `${combinator}(${g.guards.map(guardName).join(', ')})`;
    if (g.check?.name === 'checkStateIn') return `stateIn(${JSON.stringify(g.stateValue)})`;
    // XState names an inline `guard: () => …` after the property, "guard": that says nothing.
    return g.name !== undefined && g.name !== '' && g.name !== 'guard' ? g.name : 'inline';
  }
  if (typeof guard === 'object' && guard !== null && typeof (guard as { type?: unknown }).type === 'string') {
    return (guard as { type: string }).type;
  }
  return 'inline';
}

// ---------------------------------------------------------------------------------------------

function* walk(node: AnyStateNode): Generator<AnyStateNode> {
  yield node;
  for (const child of Object.values(node.states) as AnyStateNode[]) yield* walk(child);
}

function rulesOf(meta: unknown): string[] {
  if (typeof meta !== 'object' || meta === null) return [];
  const rules = (meta as { rules?: unknown }).rules;
  return Array.isArray(rules) ? rules.filter((r): r is string => typeof r === 'string') : [];
}

interface StateTree {
  get(id: string): ChartState | undefined;
  children(id: string): readonly string[];
  parent(id: string): string | null;
}

function indexStates(graph: ChartGraph): StateTree {
  const byId = new Map(graph.states.map((s) => [s.id, s]));
  const children = groupBy(graph.states, (s) => s.parent ?? '');
  return {
    get: (id) => byId.get(id),
    children: (id) => (children.get(id) ?? []).map((s) => s.id),
    parent: (id) => byId.get(id)?.parent ?? null,
  };
}

/** One drawn edge: transitions merged per the conventions at the top of this file. */
interface DiagramEdge {
  readonly source: string;
  readonly target: string | null;
  readonly events: string[];
  readonly guard: string | null;
  readonly rules: readonly string[];
}

function diagramEdges(graph: ChartGraph): DiagramEdge[] {
  // Internal transitions: one per (source, event), rules merged, guards dropped.
  const internal = new Map<string, { source: string; event: string; rules: string[] }>();
  const perEvent: { source: string; target: string | null; event: string; guard: string | null; rules: readonly string[] }[] = [];
  for (const t of graph.transitions) {
    if (t.target !== null) {
      perEvent.push(t);
      continue;
    }
    const key = JSON.stringify([t.source, t.event]);
    let entry = internal.get(key);
    if (entry === undefined) {
      entry = { source: t.source, event: t.event, rules: [] };
      internal.set(key, entry);
      perEvent.push({ source: t.source, target: null, event: t.event, guard: null, rules: entry.rules });
    }
    for (const r of t.rules) if (!entry.rules.includes(r)) entry.rules.push(r);
  }
  // Then edges identical but for the event are merged, in order of first appearance.
  const merged = new Map<string, DiagramEdge>();
  for (const t of perEvent) {
    const key = JSON.stringify([t.source, t.target, t.guard, t.rules]);
    const edge = merged.get(key);
    if (edge === undefined) merged.set(key, { source: t.source, target: t.target, events: [t.event], guard: t.guard, rules: t.rules });
    else if (!edge.events.includes(t.event)) edge.events.push(t.event);
  }
  return [...merged.values()];
}

function edgeLabel(e: DiagramEdge): string {
  const guard = e.guard === null ? '' : ` [${e.guard}]`;
  const rules = e.rules.length === 0 ? '' : ` / ${e.rules.join(', ')}`;
  return `${e.events.join(', ')}${guard}${rules}`;
}

/**
 * The same label over several lines: Graphviz lays edges out by label width, and one line naming
 * six events stretches the whole graph. Events wrap at ~40 characters; guard and rules get a line.
 */
function dotLabel(e: DiagramEdge): string {
  const lines: string[] = [];
  for (const event of e.events) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + event.length + 2 <= 40) lines[last] += `, ${event}`;
    else lines.push(event);
  }
  for (let i = 0; i < lines.length - 1; i++) lines[i] += ',';
  if (e.guard !== null) lines.push(`[${e.guard}]`);
  if (e.rules.length > 0) lines.push(`/ ${e.rules.join(', ')}`);
  return lines.join('\n');
}

const ROOT_CONTAINER = '\u0000root';

/**
 * The composite block an edge is written in: the nearest common ancestor of its ends' parents.
 * Mermaid draws edges between states of different composites unreliably when they are declared
 * inside one of them; declared in the common ancestor they render correctly.
 */
function edgeContainer(e: DiagramEdge, tree: StateTree): string {
  const source = tree.parent(e.source);
  const target = tree.parent(e.target ?? e.source);
  if (source === null || target === null) return ROOT_CONTAINER;
  const ancestors = new Set<string>();
  for (let s: string | null = source; s !== null; s = tree.parent(s)) ancestors.add(s);
  for (let t: string | null = target; t !== null; t = tree.parent(t)) if (ancestors.has(t)) return t;
  return ROOT_CONTAINER;
}

function isAncestor(ancestor: string, id: string, tree: StateTree): boolean {
  for (let s: string | null = tree.parent(id); s !== null; s = tree.parent(s)) if (s === ancestor) return true;
  return false;
}

// Words Mermaid's state-diagram grammar treats as keywords; a state with such a key gets a suffix.
const MERMAID_RESERVED = new Set(['state', 'note', 'end', 'direction', 'class', 'classDef', 'style', 'as', 'left', 'right', 'of', 'hide', 'empty', 'default', 'click', 'accTitle', 'accDescr']);

/**
 * Mermaid ids: the state's key where it is unique and a plain identifier (readable), else its path
 * joined by `_`; collisions get a numeric suffix, assigned in definition order (deterministic).
 */
function mermaidIds(states: readonly ChartState[]): Map<string, string> {
  const keyCount = new Map<string, number>();
  for (const s of states) keyCount.set(s.key, (keyCount.get(s.key) ?? 0) + 1);
  const used = new Set<string>();
  const ids = new Map<string, string>();
  for (const s of states) {
    let id = keyCount.get(s.key) === 1 ? s.key : s.id;
    id = id.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(id)) id = `s_${id}`;
    if (MERMAID_RESERVED.has(id)) id = `${id}_state`;
    let unique = id;
    for (let n = 2; used.has(unique); n++) unique = `${id}_${n}`;
    used.add(unique);
    ids.set(s.id, unique);
  }
  return ids;
}

/**
 * Makes text safe inside a Mermaid label: `:` (the label separator), `;` (statement separator),
 * `#` (entity codes), `%` (comments), braces (composite blocks), quotes, angle brackets (HTML)
 * and line breaks are replaced by harmless look-alikes or spaces.
 */
export function sanitizeMermaid(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[:;#%]/g, ' ')
    .replace(/\{/g, '(')
    .replace(/\}/g, ')')
    .replace(/"/g, "'")
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** A DOT quoted string. */
function dotString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}
