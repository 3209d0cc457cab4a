// The one registry of flow node types. The palette, the canvas (`nodeTypes`,
// each node's handles and summary), the inspector and the graph ⇄ API
// conversion all read it; adding a node type is adding an entry here (and its
// strings in i18n). The data shapes and branch labels mirror routing/flow.go.
import type { ComponentType } from 'react';
import { teamNames } from './teamNames';
import type { TFunction } from 'i18next';

/** A time zone in words in the UI's language ("协调世界时", "China Standard Time"), or its id when the browser has no name for it. */
export function zoneName(tz: string, locale: string): string {
  try {
    const part = new Intl.DateTimeFormat(locale, { timeZone: tz, timeZoneName: 'long' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
    return part?.value || tz;
  } catch {
    return tz;
  }
}
import {
  ApartmentOutlined,
  ApiOutlined,
  BranchesOutlined,
  ClockCircleOutlined,
  EditOutlined,
  HourglassOutlined,
  MessageOutlined,
  PlayCircleOutlined,
  QuestionCircleOutlined,
  RobotOutlined,
  StopOutlined,
  TagOutlined,
  UserSwitchOutlined,
} from '@ant-design/icons';
import { AssignForm, ConditionForm, LlmForm, NoDataForm, QueueForm, ReplyForm, SetForm, SwitchForm, TagForm, WebhookForm, type InspectorProps } from './inspectors';
import { HoursForm } from './HoursForm';
import { STRATEGIES, WEEKDAYS, type AssignStrategy, type EditorNode, type FlowNodeType, type NodeDataMap, type Problem, type Schedule, type Span } from './types';

export type PaletteGroup = 'entry' | 'logic' | 'bot' | 'data' | 'routing';

export interface NodeSpec<T extends FlowNodeType> {
  type: T;
  /** i18n key of the type's name. */
  labelKey: `flows.types.${T}.label`;
  /** i18n key of a one-line description (palette tooltip, inspector). */
  helpKey: `flows.types.${T}.help`;
  icon: ComponentType;
  color: string;
  group: PaletteGroup;
  /** Only one of it per flow (start). */
  single?: boolean;
  /** Whether edges may come in (every type but start). */
  hasInput: boolean;
  /** Data of a node just dropped from the palette. */
  defaults(): NodeDataMap[T];
  /** The labels of its outgoing branches, one source handle each; "" is the single unlabelled way on. */
  outputs(data: NodeDataMap[T]): string[];
  /** The line the canvas shows under the node's name. */
  summary(data: NodeDataMap[T], t: TFunction): string;
  /** Client-side checks; the server's validation is the authority. */
  validate(data: NodeDataMap[T]): Problem[];
  /** API data (possibly partial or malformed) → typed data, keeping unknown fields. */
  fromApi(raw: Record<string, unknown>): NodeDataMap[T];
  /** The inspector's form for this type. */
  Inspector: ComponentType<InspectorProps<T>>;
}

export type Registry = { [T in FlowNodeType]: NodeSpec<T> };

// ---- small coercions for fromApi -------------------------------------------

const str = (v: unknown, d = ''): string => (typeof v === 'string' ? v : d);
const num = (v: unknown, d = 0): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const isHHMM = (s: string) => /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/.test(s);
const isDate = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

function schedule(v: unknown): Schedule {
  const out: Schedule = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const day of WEEKDAYS) {
    const spans = (v as Record<string, unknown>)[day];
    if (!Array.isArray(spans)) continue;
    out[day] = spans.filter((s): s is Span => Array.isArray(s) && s.length === 2 && typeof s[0] === 'string' && typeof s[1] === 'string').map((s) => [s[0], s[1]]);
  }
  return out;
}

function localTimezone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

const seconds = (n: number): Problem[] => (n < 0 || n > 86400 ? [{ key: 'secondsRange' }] : []);
const exprNeeded = (e: string): Problem[] => (e.trim() ? [] : [{ key: 'exprRequired' }]);
const clip = (s: string, n = 48) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The registry. Order here is the palette's order. */
export const registry: Registry = {
  start: {
    type: 'start',
    labelKey: 'flows.types.start.label',
    helpKey: 'flows.types.start.help',
    icon: PlayCircleOutlined,
    color: '#52c41a',
    group: 'entry',
    single: true,
    hasInput: false,
    defaults: () => ({}),
    outputs: () => [''],
    summary: (_d, t) => t('flows.summary.start'),
    validate: () => [],
    fromApi: (raw) => ({ ...raw }) as NodeDataMap['start'],
    Inspector: NoDataForm,
  },
  condition: {
    type: 'condition',
    labelKey: 'flows.types.condition.label',
    helpKey: 'flows.types.condition.help',
    icon: BranchesOutlined,
    color: '#1677ff',
    group: 'logic',
    hasInput: true,
    defaults: () => ({ expr: '' }),
    outputs: () => ['true', 'false', 'error'],
    summary: (d, t) => clip(d.expr) || t('flows.summary.noExpr'),
    validate: (d) => exprNeeded(d.expr),
    fromApi: (raw) => ({ ...raw, expr: str(raw.expr) }),
    Inspector: ConditionForm,
  },
  switch: {
    type: 'switch',
    labelKey: 'flows.types.switch.label',
    helpKey: 'flows.types.switch.help',
    icon: ApartmentOutlined,
    color: '#2f54eb',
    group: 'logic',
    hasInput: true,
    defaults: () => ({ cases: [{ label: 'case1', expr: '' }] }),
    outputs: (d) => [...d.cases.map((c) => c.label), 'default', 'error'],
    summary: (d, t) => t('flows.summary.cases', { n: d.cases.length }),
    validate: (d) => {
      const out: Problem[] = [];
      if (d.cases.length < 1 || d.cases.length > 20) out.push({ key: 'casesCount' });
      const seen = new Set<string>();
      d.cases.forEach((c, i) => {
        const l = c.label.trim();
        if (!l || l !== c.label || l === 'default' || l === 'error' || l.length > 40 || seen.has(l)) out.push({ key: 'caseLabel', values: { n: i + 1 } });
        seen.add(l);
        if (!c.expr.trim()) out.push({ key: 'exprRequired' });
      });
      return out;
    },
    fromApi: (raw) => ({
      ...raw,
      cases: Array.isArray(raw.cases)
        ? raw.cases.map((c: unknown) => {
            const o = typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : {};
            return { label: str(o.label), expr: str(o.expr) };
          })
        : [],
    }),
    Inspector: SwitchForm,
  },
  business_hours: {
    type: 'business_hours',
    labelKey: 'flows.types.business_hours.label',
    helpKey: 'flows.types.business_hours.help',
    icon: ClockCircleOutlined,
    color: '#13a8a8',
    group: 'logic',
    hasInput: true,
    defaults: () => {
      const day: Span[] = [['09:00', '18:00']];
      return { timezone: localTimezone(), schedule: { mon: day, tue: day, wed: day, thu: day, fri: day }, holidays: [] };
    },
    outputs: () => ['open', 'closed'],
    summary: (d, t) => t('flows.summary.hours', { tz: zoneName(d.timezone || 'UTC', t('flows.locale')), days: WEEKDAYS.filter((w) => (d.schedule[w]?.length ?? 0) > 0).length }),
    validate: (d) => {
      const out: Problem[] = [];
      for (const day of WEEKDAYS) {
        for (const [a, b] of d.schedule[day] ?? []) {
          if (!isHHMM(a) || !isHHMM(b) || a >= b) out.push({ key: 'spanInvalid', values: { day, from: a, to: b } });
        }
      }
      for (const h of d.holidays) if (!isDate(h)) out.push({ key: 'holidayInvalid', values: { date: h } });
      return out;
    },
    fromApi: (raw) => ({ ...raw, timezone: str(raw.timezone, 'UTC') || 'UTC', schedule: schedule(raw.schedule), holidays: strs(raw.holidays) }),
    Inspector: HoursForm,
  },
  reply: {
    type: 'reply',
    labelKey: 'flows.types.reply.label',
    helpKey: 'flows.types.reply.help',
    icon: MessageOutlined,
    color: '#722ed1',
    group: 'bot',
    hasInput: true,
    defaults: () => ({ text: '' }),
    outputs: () => [''],
    summary: (d, t) => clip(d.text) || t('flows.summary.noText'),
    validate: (d) => (!d.text.trim() ? [{ key: 'textRequired' }] : [...d.text].length > 2000 ? [{ key: 'textTooLong', values: { max: 2000 } }] : []),
    fromApi: (raw) => ({ ...raw, text: str(raw.text) }),
    Inspector: ReplyForm,
  },
  faq: {
    type: 'faq',
    labelKey: 'flows.types.faq.label',
    helpKey: 'flows.types.faq.help',
    icon: QuestionCircleOutlined,
    color: '#eb2f96',
    group: 'bot',
    hasInput: true,
    defaults: () => ({}),
    outputs: () => ['answered', 'unanswered'],
    summary: (_d, t) => t('flows.summary.faq'),
    validate: () => [],
    fromApi: (raw) => ({ ...raw }) as NodeDataMap['faq'],
    Inspector: NoDataForm,
  },
  llm: {
    type: 'llm',
    labelKey: 'flows.types.llm.label',
    helpKey: 'flows.types.llm.help',
    icon: RobotOutlined,
    color: '#9254de',
    group: 'bot',
    hasInput: true,
    defaults: () => ({ timeout_ms: 3000, fallback_text: '' }),
    outputs: () => ['answered', 'handoff'],
    summary: (d, t) => t('flows.summary.llm', { ms: d.timeout_ms || 3000 }),
    validate: (d) => {
      const out: Problem[] = [];
      if (d.timeout_ms !== 0 && (d.timeout_ms < 100 || d.timeout_ms > 60000)) out.push({ key: 'timeoutRange', values: { min: 100, max: 60000 } });
      if ([...d.fallback_text].length > 2000) out.push({ key: 'textTooLong', values: { max: 2000 } });
      if ([...(d.system_prompt ?? '')].length > 8000) out.push({ key: 'textTooLong', values: { max: 8000 } });
      return out;
    },
    fromApi: (raw) => ({ ...raw, timeout_ms: num(raw.timeout_ms), fallback_text: str(raw.fallback_text) }),
    Inspector: LlmForm,
  },
  set: {
    type: 'set',
    labelKey: 'flows.types.set.label',
    helpKey: 'flows.types.set.help',
    icon: EditOutlined,
    color: '#fa8c16',
    group: 'data',
    hasInput: true,
    defaults: () => ({ attribute: '', expr: '' }),
    outputs: () => ['', 'error'],
    summary: (d, t) => (d.attribute ? clip(`${d.attribute} = ${d.expr}`) : t('flows.summary.noAttribute')),
    validate: (d) => [...(/^[a-z][a-z0-9_]{0,39}$/.test(d.attribute) ? [] : [{ key: 'attributeInvalid' } as Problem]), ...exprNeeded(d.expr)],
    fromApi: (raw) => ({ ...raw, attribute: str(raw.attribute), expr: str(raw.expr) }),
    Inspector: SetForm,
  },
  tag: {
    type: 'tag',
    labelKey: 'flows.types.tag.label',
    helpKey: 'flows.types.tag.help',
    icon: TagOutlined,
    color: '#d4b106',
    group: 'data',
    hasInput: true,
    defaults: () => ({ labels: [] }),
    outputs: () => [''],
    summary: (d, t) => clip(d.labels.join(', ')) || t('flows.summary.noLabels'),
    validate: (d) =>
      d.labels.length < 1 || d.labels.length > 20 ? [{ key: 'labelsCount' }] : d.labels.some((l) => !l.trim() || [...l].length > 50) ? [{ key: 'labelsCount' }] : [],
    fromApi: (raw) => ({ ...raw, labels: strs(raw.labels) }),
    Inspector: TagForm,
  },
  webhook: {
    type: 'webhook',
    labelKey: 'flows.types.webhook.label',
    helpKey: 'flows.types.webhook.help',
    icon: ApiOutlined,
    color: '#fa541c',
    group: 'data',
    hasInput: true,
    defaults: () => ({ url: '', timeout_ms: 5000 }),
    outputs: () => ['', 'error'],
    summary: (d, t) => {
      try {
        return new URL(d.url).host || t('flows.summary.noUrl');
      } catch {
        return t('flows.summary.noUrl');
      }
    },
    validate: (d) => {
      const out: Problem[] = [];
      let ok: boolean;
      try {
        const u = new URL(d.url);
        ok = (u.protocol === 'http:' || u.protocol === 'https:') && !!u.host;
      } catch {
        ok = false;
      }
      if (!ok) out.push({ key: 'urlInvalid' });
      if (d.timeout_ms !== 0 && (d.timeout_ms < 100 || d.timeout_ms > 30000)) out.push({ key: 'timeoutRange', values: { min: 100, max: 30000 } });
      return out;
    },
    fromApi: (raw) => ({ ...raw, url: str(raw.url), timeout_ms: num(raw.timeout_ms) }),
    Inspector: WebhookForm,
  },
  queue: {
    type: 'queue',
    labelKey: 'flows.types.queue.label',
    helpKey: 'flows.types.queue.help',
    icon: HourglassOutlined,
    color: '#faad14',
    group: 'routing',
    hasInput: true,
    defaults: () => ({ timeout_seconds: 0 }),
    outputs: () => ['timeout'],
    summary: (d, t) => (d.timeout_seconds ? t('flows.summary.waitFor', { s: d.timeout_seconds }) : t('flows.summary.waitForever')),
    validate: (d) => seconds(d.timeout_seconds),
    fromApi: (raw) => ({ ...raw, timeout_seconds: num(raw.timeout_seconds) }),
    Inspector: QueueForm,
  },
  assign: {
    type: 'assign',
    labelKey: 'flows.types.assign.label',
    helpKey: 'flows.types.assign.help',
    icon: UserSwitchOutlined,
    color: '#389e0d',
    group: 'routing',
    hasInput: true,
    defaults: () => ({ strategy: 'round_robin', team: '', skills: [], timeout_seconds: 0 }),
    outputs: () => ['assigned', 'timeout'],
    summary: (d, t) => {
      const parts: string[] = [t(`flows.strategy.${d.strategy}`)];
      if (d.team) parts.push(`@${teamNames.get(d.team) ?? d.team}`);
      if (d.skills.length) parts.push(d.skills.join(', '));
      return clip(parts.join(' · '));
    },
    validate: (d) => [...(d.strategy === 'skills' && d.skills.length === 0 ? [{ key: 'skillsRequired' } as Problem] : []), ...seconds(d.timeout_seconds)],
    fromApi: (raw) => ({
      ...raw,
      strategy: (STRATEGIES as readonly string[]).includes(str(raw.strategy)) ? (raw.strategy as AssignStrategy) : 'round_robin',
      team: str(raw.team),
      skills: strs(raw.skills),
      timeout_seconds: num(raw.timeout_seconds),
    }),
    Inspector: AssignForm,
  },
  end: {
    type: 'end',
    labelKey: 'flows.types.end.label',
    helpKey: 'flows.types.end.help',
    icon: StopOutlined,
    color: '#8c8c8c',
    group: 'routing',
    hasInput: true,
    defaults: () => ({}),
    outputs: () => [],
    summary: (_d, t) => t('flows.summary.end'),
    validate: () => [],
    fromApi: (raw) => ({ ...raw }) as NodeDataMap['end'],
    Inspector: NoDataForm,
  },
};

/** Every node type, in palette order. */
export const NODE_TYPES = Object.keys(registry) as FlowNodeType[];
export const PALETTE_GROUPS: PaletteGroup[] = ['entry', 'logic', 'bot', 'data', 'routing'];

export function isNodeType(t: string): t is FlowNodeType {
  return Object.prototype.hasOwnProperty.call(registry, t);
}

/** The spec of a node's type, typed loosely enough to call with any node. */
export function specOf(type: FlowNodeType): NodeSpec<FlowNodeType> {
  return registry[type] as unknown as NodeSpec<FlowNodeType>;
}

/** The branch labels a node has now (a switch's follow its cases). */
export function outputsOf(node: Pick<EditorNode, 'type' | 'data'>): string[] {
  return specOf(node.type).outputs(node.data);
}

export function problemsOf(node: Pick<EditorNode, 'type' | 'data'>): Problem[] {
  return specOf(node.type).validate(node.data);
}

/** Branch labels the app translates; a switch's own case labels are shown as written. */
export const KNOWN_BRANCHES = ['', 'true', 'false', 'error', 'default', 'answered', 'unanswered', 'handoff', 'open', 'closed', 'timeout', 'assigned', 'queue', 'end'] as const;
type KnownBranch = (typeof KNOWN_BRANCHES)[number];

export function branchLabel(t: TFunction, label: string): string {
  if (!(KNOWN_BRANCHES as readonly string[]).includes(label)) return label;
  return t(`flows.branches.${(label || 'next') as Exclude<KnownBranch, ''> | 'next'}`);
}
