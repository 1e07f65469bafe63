/**
 * The report renderers of `figure2 check` (tools/report/), on synthetic CheckReports: the text
 * report, JSON with a stable key order, and JUnit XML that is well-formed whatever the trace holds
 * (checked here by a small XML 1.0 well-formedness parser — no dependency for it).
 */
import { describe, expect, it } from 'vitest';
import { RULES, type RuleId } from '../../spec/rules.ts';
import type { CheckReport, LinearizabilityResult, LocatedEvent, RuleCoverage, Violation } from '../../traces/checker/types.ts';
import { describeNeeds, diffFields, violatedRules, violationCount } from '../../tools/report/common.ts';
import { canonicalReport, renderInputErrorsJson, renderJson, sortKeys } from '../../tools/report/json.ts';
import { attr, renderJunit, text } from '../../tools/report/junit.ts';
import { renderCoverage, renderLinearizability, renderText, summaryLine } from '../../tools/report/text.ts';

// ---------------------------------------------------------------------------------------------
// Synthetic reports

const FILE = 'run.ndjson';

function located(line: number, event: LocatedEvent['event']): LocatedEvent {
  return { file: FILE, line, event };
}

const recvRv = located(7, { ev: 'recv', node: 'n2', from: 'n1', msg: { type: 'RequestVote', term: 2, candidateId: 'n1', lastLogIndex: 0, lastLogTerm: 0 } });
const grant = located(9, { ev: 'send', node: 'n2', to: 'n1', msg: { type: 'RequestVoteResponse', term: 2, voteGranted: true } });
const append = located(4, { ev: 'append', node: 'n2', entries: [{ index: 1, term: 1 }] });

const rv2: Violation = {
  rule: 'RV-2',
  statement: RULES.find((r) => r.id === 'RV-2')?.statement ?? '',
  at: { file: FILE, line: 9 },
  node: 'n2',
  message: 'n2 granted its vote in term 2 to n1, whose log is behind its own',
  expected: { voteGranted: false, term: 2 },
  actual: { voteGranted: true, term: 2 },
  context: [append, recvRv, grant],
};

const p1: Violation = {
  rule: 'P-1',
  statement: RULES.find((r) => r.id === 'P-1')?.statement ?? '',
  at: { file: FILE, line: 9 },
  node: 'n2',
  message: 'n2 granted its vote to n1 in term 2 before persisting it',
  expected: { persisted: { term: 2, votedFor: 'n1' } },
  actual: { persisted: { term: 1, votedFor: 'n1' } },
  context: [grant],
};

function coverage(overrides: Partial<Record<RuleId, Partial<RuleCoverage>>> = {}): RuleCoverage[] {
  return RULES.map((r) => ({ rule: r.id, checked: 3, violated: 0, checkable: true, needs: r.needs, ...overrides[r.id] }));
}

function report(over: Partial<CheckReport> = {}): CheckReport {
  return {
    files: [FILE],
    events: 1234,
    nodes: ['n1', 'n2', 'n3'],
    violations: [],
    truncated: false,
    coverage: coverage(),
    linearizability: { verdict: 'no-history' },
    seconds: 0.25,
    ...over,
  };
}

const violating = report({
  violations: [rv2, p1],
  coverage: coverage({
    'RV-2': { violated: 1 },
    'P-1': { violated: 1 },
    'P-2': { checkable: false, checked: 0, needs: [['persist', 'crash', 'init']] },
    'F-1': { checkable: false, checked: 0, reason: 'liveness: a trace cannot prove a reply will never come' },
  }),
});

// ---------------------------------------------------------------------------------------------

describe('common', () => {
  it('diffs only the fields that differ, flattening nested objects', () => {
    expect(diffFields({ voteGranted: false, term: 2 }, { voteGranted: true, term: 2 })).toEqual([{ path: 'voteGranted', expected: false, actual: true }]);
    expect(diffFields({ persisted: { term: 2, votedFor: 'n1' } }, { persisted: { term: 1, votedFor: 'n1' } })).toEqual([{ path: 'persisted.term', expected: 2, actual: 1 }]);
    expect(diffFields({ a: 1 }, { b: 1 })).toEqual([
      { path: 'a', expected: 1, actual: undefined },
      { path: 'b', expected: undefined, actual: 1 },
    ]);
    expect(diffFields([1, 2], [1, 3])).toEqual([{ path: '', expected: [1, 2], actual: [1, 3] }]);
    expect(diffFields(3, 3)).toEqual([]);
  });

  it('names the violated rules in catalog order, CL-LIN included when not linearizable', () => {
    expect(violatedRules(violating)).toEqual(['RV-2', 'P-1']);
    const lin = report({ linearizability: { verdict: 'not-linearizable', key: 'x' }, coverage: coverage({ 'CL-LIN': { violated: 1 } }) });
    expect(violatedRules(lin)).toEqual(['CL-LIN']);
    expect(violationCount(lin)).toBe(1);
    expect(violationCount(violating)).toBe(2);
  });

  it('counts the violations --max-violations cut from the list', () => {
    const cut = report({ violations: [rv2], truncated: true, coverage: coverage({ 'RV-2': { violated: 5 }, 'P-1': { violated: 2 } }) });
    expect(violationCount(cut)).toBe(7);
    expect(violatedRules(cut)).toEqual(['RV-2', 'P-1']);
  });

  it('words a rule\'s needs as alternatives', () => {
    expect(describeNeeds([['persist', 'send'], ['crash', 'init']])).toBe('persist+send or crash+init');
  });
});

describe('text report', () => {
  const out = renderText(violating);

  it('shows each violation: rule, statement, file:line, node, message', () => {
    expect(out).toContain(`1. RV-2 violated at ${FILE}:9 (node n2)`);
    expect(out).toContain(`   rule: ${rv2.statement}`);
    expect(out).toContain(`   ${rv2.message}`);
    expect(out).toContain(`2. P-1 violated at ${FILE}:9 (node n2)`);
  });

  it('shows expected vs actual as a diff of the differing fields only', () => {
    const block = out.slice(out.indexOf('1. RV-2'), out.indexOf('2. P-1'));
    expect(block).toContain('expected (-) vs actual (+):');
    expect(block).toContain('     - voteGranted: false\n     + voteGranted: true');
    expect(block).not.toMatch(/[-+] term:/);
    expect(out).toContain('     - persisted.term: 2\n     + persisted.term: 1');
  });

  it('shows the causal context as file:line and compact JSON, the violating event marked', () => {
    expect(out).toContain('context (last events of n2):');
    expect(out).toContain(`     ${FILE}:4  {"ev":"append","node":"n2","entries":[{"index":1,"term":1}]}`);
    expect(out).toContain(`   > ${FILE}:9  ${JSON.stringify(grant.event)}`);
  });

  it('then a summary line, the coverage table and the linearizability verdict, in that order', () => {
    const summary = out.indexOf('1234 events, 3 nodes, 2 violations (rules RV-2, P-1) in 0.25 s');
    const table = out.indexOf('rule ');
    const lin = out.indexOf('linearizability (CL-LIN):');
    expect(summary).toBeGreaterThan(out.indexOf('2. P-1'));
    expect(table).toBeGreaterThan(summary);
    expect(lin).toBeGreaterThan(table);
    expect(out.endsWith('\n')).toBe(true);
  });

  it('summarizes a clean report', () => {
    expect(summaryLine(report({ events: 1, nodes: ['n1'], seconds: 0.0123456 }))).toBe('1 event, 1 node, no violations in 0.012 s');
  });

  it('lists every rule in the coverage table: checked, violated, or why not checkable', () => {
    const lines = renderCoverage(violating.coverage);
    expect(lines).toHaveLength(RULES.length + 1);
    expect(lines.find((l) => l.startsWith('RV-1 '))).toMatch(/^RV-1\s+3\s+0$/);
    expect(lines.find((l) => l.startsWith('RV-2 '))).toMatch(/^RV-2\s+3\s+1\s+VIOLATED$/);
    expect(lines.find((l) => l.startsWith('P-2 '))).toMatch(/^P-2\s+not checkable \(needs: persist\+crash\+init\)$/);
    expect(lines.find((l) => l.startsWith('F-1 '))).toMatch(/^F-1\s+not checkable \(liveness: a trace cannot prove a reply will never come\)$/);
    expect(lines.find((l) => l.startsWith('RV-2 '))).toMatch(/^RV-2\s+3\s+1\s+VIOLATED$/);
  });

  it('notes a list cut by --max-violations', () => {
    const cut = renderText(report({ violations: [rv2], truncated: true, coverage: coverage({ 'RV-2': { violated: 4 } }) }));
    expect(cut).toContain('(--max-violations: the first 1 violation of 4 shown; the coverage table counts them all)');
    expect(cut).toContain('4 violations (rule RV-2)');
  });

  it('can leave the coverage table out', () => {
    expect(renderText(report(), { coverage: false })).not.toContain('checked');
  });

  it('gives each linearizability verdict its line, with the operations that cannot be ordered', () => {
    const ops = [located(2, { ev: 'invoke', client: 'c1', opId: 1, op: { kind: 'put', key: 'x', value: '1' } }), located(3, { ev: 'ok', client: 'c1', opId: 1 })];
    const cases: [LinearizabilityResult, RegExp][] = [
      [{ verdict: 'linearizable', message: 'CL-LIN: 3 operations on 1 key are linearizable' }, /^linearizability \(CL-LIN\): linearizable\n {3}CL-LIN: 3 operations/],
      [{ verdict: 'unknown', message: 'budget' }, /^linearizability \(CL-LIN\): undecided/],
      [{ verdict: 'no-history' }, /^linearizability \(CL-LIN\): no client history/],
      [{ verdict: 'not-linearizable', key: 'x', operations: ops, message: 'no order' }, /^linearizability \(CL-LIN\): NOT linearizable \(key "x"\)\n {3}no order\n {5}run\.ndjson:2 {2}\{"ev":"invoke"/],
    ];
    for (const [lin, pattern] of cases) expect(renderLinearizability(lin).join('\n')).toMatch(pattern);
  });
});

describe('JSON report', () => {
  it('is the CheckReport, losslessly', () => {
    expect(JSON.parse(renderJson(violating))).toEqual(JSON.parse(JSON.stringify(violating)));
  });

  it('has a stable key order: the report\'s fields in type order, events with ev and node first, the rest sorted', () => {
    const out = JSON.parse(renderJson(violating)) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['files', 'events', 'nodes', 'violations', 'truncated', 'coverage', 'linearizability', 'seconds']);
    const v = (out['violations'] as Record<string, unknown>[])[0] ?? {};
    expect(Object.keys(v)).toEqual(['rule', 'statement', 'at', 'node', 'message', 'expected', 'actual', 'context']);
    expect(Object.keys(v['expected'] as object)).toEqual(['term', 'voteGranted']);
    const event = ((v['context'] as { event: object }[])[1] ?? { event: {} }).event;
    expect(Object.keys(event)).toEqual(['ev', 'node', 'from', 'msg']);
    expect(Object.keys((out['coverage'] as object[])[0] ?? {})).toEqual(['rule', 'checked', 'violated', 'checkable', 'needs']);
  });

  it('prints the same bytes whatever order the report\'s objects were built in', () => {
    const shuffled = JSON.parse(JSON.stringify(violating, (_k, value: unknown) => (value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value))) as CheckReport;
    expect(renderJson(shuffled)).toBe(renderJson(violating));
  });

  it('keeps a __proto__ key of third-party data as a plain key', () => {
    const value = JSON.parse('{"b":1,"__proto__":{"polluted":true}}') as unknown;
    expect(JSON.stringify(sortKeys(value))).toBe('{"__proto__":{"polluted":true},"b":1}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('omits absent optional fields', () => {
    const out = canonicalReport(report());
    expect(out['linearizability']).toEqual({ verdict: 'no-history' });
  });

  it('renders input errors as {inputErrors: [...]}', () => {
    expect(JSON.parse(renderInputErrorsJson([{ file: 'a', line: 3, path: '$.ts', message: 'missing ts' }]))).toEqual({
      inputErrors: [{ file: 'a', line: 3, path: '$.ts', message: 'missing ts' }],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// A small XML 1.0 well-formedness parser: elements, attributes, text, character and the five
// predefined entity references, the XML declaration. Throws on anything malformed.

interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const XML_CHAR = /^[\t\n\r\u{20}-\u{D7FF}\u{E000}-\u{FFFD}\u{10000}-\u{10FFFF}]*$/u;
const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(raw: string, where: string): string {
  return raw.replace(/&([^;]*);|&/g, (_match, body: string | undefined) => {
    if (body === undefined) throw new Error(`bare & in ${where}`);
    if (body in ENTITIES) return ENTITIES[body] ?? '';
    const num = /^#(?:x([0-9A-Fa-f]+)|([0-9]+))$/.exec(body);
    if (num === null) throw new Error(`unknown entity &${body}; in ${where}`);
    const code = num[1] !== undefined ? parseInt(num[1], 16) : Number(num[2]);
    const ch = String.fromCodePoint(code);
    if (!XML_CHAR.test(ch)) throw new Error(`character reference to an illegal character in ${where}`);
    return ch;
  });
}

function parseXml(doc: string): XmlElement {
  if (!XML_CHAR.test(doc)) throw new Error('illegal character in the document');
  let i = 0;
  const skipSpace = (): void => {
    while (i < doc.length && /\s/.test(doc[i] ?? '')) i++;
  };
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end === -1) throw new Error('unterminated XML declaration');
    i = end + 2;
  }
  skipSpace();
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (i < doc.length) {
    if (doc[i] !== '<') {
      const next = doc.indexOf('<', i);
      const raw = doc.slice(i, next === -1 ? doc.length : next);
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (raw.trim() !== '') throw new Error('text outside the root element');
      } else {
        if (raw.includes('>') && raw.includes(']]>')) throw new Error(']]> in text');
        top.text += decode(raw, `<${top.name}> text`);
      }
      i = next === -1 ? doc.length : next;
      continue;
    }
    if (doc.startsWith('</', i)) {
      const m = NAME.exec(doc.slice(i + 2));
      if (m === null) throw new Error(`bad end tag at ${i}`);
      const name = m[0];
      i += 2 + name.length;
      skipSpace();
      if (doc[i] !== '>') throw new Error(`bad end tag </${name}`);
      i++;
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name ?? 'nothing'}>`);
      continue;
    }
    const m = NAME.exec(doc.slice(i + 1));
    if (m === null) throw new Error(`bad start tag at ${i}`);
    const element: XmlElement = { name: m[0], attributes: {}, children: [], text: '' };
    i += 1 + element.name.length;
    for (;;) {
      const before = i;
      skipSpace();
      if (doc.startsWith('/>', i) || doc[i] === '>') break;
      if (i === before) throw new Error(`attributes of <${element.name}> need whitespace between them`);
      const a = NAME.exec(doc.slice(i));
      if (a === null) throw new Error(`bad attribute in <${element.name}>`);
      i += a[0].length;
      skipSpace();
      if (doc[i] !== '=') throw new Error(`attribute ${a[0]} without =`);
      i++;
      skipSpace();
      const quote = doc[i];
      if (quote !== '"' && quote !== "'") throw new Error(`unquoted attribute ${a[0]}`);
      const end = doc.indexOf(quote, i + 1);
      if (end === -1) throw new Error(`unterminated attribute ${a[0]}`);
      const raw = doc.slice(i + 1, end);
      if (raw.includes('<')) throw new Error(`< in attribute ${a[0]}`);
      if (a[0] in element.attributes) throw new Error(`duplicate attribute ${a[0]}`);
      element.attributes[a[0]] = decode(raw, `attribute ${a[0]}`);
      i = end + 1;
    }
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent.children.push(element);
    else if (root === undefined) root = element;
    else throw new Error('more than one root element');
    if (doc.startsWith('/>', i)) {
      i += 2;
    } else {
      i += 1;
      stack.push(element);
    }
    if (stack.length === 0) skipSpace();
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack[stack.length - 1]?.name}>`);
  if (root === undefined) throw new Error('no root element');
  return root;
}

describe('the test\'s XML parser', () => {
  it('rejects what is not well-formed', () => {
    for (const bad of ['<a>', '<a></b>', '<a x=1/>', '<a x="<"/>', '<a>&</a>', '<a>&nope;</a>', '<a/><b/>', '<a>\u0001</a>', '<a x="1"y="2"/>', '<a>&#1;</a>']) {
      expect(() => parseXml(bad), bad).toThrow();
    }
    expect(parseXml('<?xml version="1.0"?>\n<a x="&quot;1&#10;">t&amp;<b/></a>\n')).toMatchObject({ name: 'a', attributes: { x: '"1\n' }, text: 't&' });
  });
});

describe('JUnit report', () => {
  const nasty = `<script> & "quotes" 'apos' ]]> \u0000\u0008\u001f \ud800 lone, ok 😀 é`;
  const messy = report({
    files: [`dir/${nasty}.ndjson`],
    violations: [{ ...rv2, message: nasty, at: { file: nasty, line: 9 }, context: [located(3, { ev: 'role', node: nasty, role: 'leader', term: 1 })] }, p1],
    coverage: coverage({
      'RV-2': { violated: 1 },
      'P-1': { violated: 1 },
      'P-2': { checkable: false, checked: 0, needs: [['persist', 'crash', 'init']] },
      'F-1': { checkable: false, checked: 0, reason: nasty },
      'CL-LIN': { checked: 1, violated: 1 },
    }),
    linearizability: { verdict: 'not-linearizable', key: nasty, message: nasty, operations: [located(2, { ev: 'ok', client: nasty, opId: 1 })] },
  });

  it('is well-formed XML, whatever characters the trace holds', () => {
    expect(() => parseXml(renderJunit(messy))).not.toThrow();
    expect(() => parseXml(renderJunit(violating))).not.toThrow();
  });

  it('has one test case per rule, classname figure2.rules, named ID: statement', () => {
    const suite = parseXml(renderJunit(violating)).children[0];
    expect(suite?.name).toBe('testsuite');
    const cases = suite?.children.filter((c) => c.name === 'testcase') ?? [];
    expect(cases.map((c) => c.attributes['name'])).toEqual(RULES.map((r) => `${r.id}: ${r.statement}`));
    for (const c of cases) expect(c.attributes['classname']).toBe('figure2.rules');
  });

  it('fails violated rules with their violations, skips uncheckable ones with why, counts both', () => {
    const root = parseXml(renderJunit(violating));
    const suite = root.children[0] as XmlElement;
    const byRule = new Map(suite.children.filter((c) => c.name === 'testcase').map((c) => [c.attributes['name']?.split(':')[0], c]));
    const failure = byRule.get('RV-2')?.children[0];
    expect(failure?.name).toBe('failure');
    expect(failure?.attributes['type']).toBe('RV-2');
    expect(failure?.attributes['message']).toBe(`1 violation, first at ${FILE}:9`);
    expect(failure?.text).toContain(rv2.message);
    expect(failure?.text).toContain('- voteGranted: false');
    expect(failure?.text).toContain(`${FILE}:7  {"ev":"recv"`);
    expect(byRule.get('P-2')?.children[0]).toMatchObject({ name: 'skipped', attributes: { message: 'not checkable: needs: persist+crash+init' } });
    expect(byRule.get('F-1')?.children[0]?.attributes['message']).toBe('not checkable: liveness: a trace cannot prove a reply will never come');
    expect(byRule.get('RV-1')?.children).toEqual([]);
    // CL-LIN without a history is skipped.
    expect(byRule.get('CL-LIN')?.children[0]?.name).toBe('skipped');
    for (const element of [root, suite]) {
      expect(element.attributes).toMatchObject({ tests: String(RULES.length), failures: '2', skipped: '3', errors: '0', time: '0.250' });
    }
  });

  it('keeps the text it escaped (and replaces what XML cannot carry by U+FFFD)', () => {
    const root = parseXml(renderJunit(messy));
    const suite = root.children[0] as XmlElement;
    const cases = suite.children.filter((c) => c.name === 'testcase');
    const rv = cases.find((c) => c.attributes['name']?.startsWith('RV-2:'));
    const readable = `<script> & "quotes" 'apos' ]]> \uFFFD\uFFFD\uFFFD \uFFFD lone, ok 😀 é`;
    expect(rv?.children[0]?.text).toContain(readable);
    expect(cases.find((c) => c.attributes['name']?.startsWith('F-1:'))?.children[0]?.attributes['message']).toBe(`not checkable: ${readable}`);
    const lin = cases.find((c) => c.attributes['name']?.startsWith('CL-LIN:'))?.children[0];
    expect(lin?.name).toBe('failure');
    expect(lin?.text).toContain(readable);
    expect(suite.children[0]?.children.find((p) => p.attributes['name'] === 'files')?.attributes['value']).toBe(`dir/${readable}.ndjson`);
  });

  it('skips an undecided CL-LIN with the checker\'s message', () => {
    const undecided = report({ linearizability: { verdict: 'unknown', message: 'budget of 10 steps' } });
    const suite = parseXml(renderJunit(undecided)).children[0] as XmlElement;
    const lin = suite.children.find((c) => c.attributes['name']?.startsWith('CL-LIN:'));
    expect(lin?.children[0]).toMatchObject({ name: 'skipped', attributes: { message: 'undecided: budget of 10 steps' } });
  });

  it('escapes attributes and text', () => {
    expect(attr(`a<b>&"c"'\n`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;&#10;');
    expect(text('a<b>&c]]>')).toBe('a&lt;b&gt;&amp;c]]&gt;');
  });
});
