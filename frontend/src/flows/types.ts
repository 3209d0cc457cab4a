// The editor's model of a routing flow: each node type's data (what the
// server validates, routing/flow.go) and the xyflow node and edge types the
// canvas and the store work with.
import type { Edge, Node } from '@xyflow/react';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
/** An opening interval, ["09:00", "18:00"]; "24:00" may end a day. */
export type Span = [string, string];
export type Schedule = Partial<Record<Weekday, Span[]>>;

export const STRATEGIES = ['round_robin', 'least_busy', 'skills'] as const;
export type AssignStrategy = (typeof STRATEGIES)[number];

export type SwitchCase = { label: string; expr: string };

// Type aliases (not interfaces) so that they fit xyflow's Record<string, unknown>.
export type EmptyData = Record<string, never>;
export type ConditionData = { expr: string };
export type SwitchData = { cases: SwitchCase[] };
export type ReplyData = { text: string };
/** model and system_prompt override the tenant's model settings when not empty. */
export type LlmData = { timeout_ms: number; fallback_text: string; model?: string; system_prompt?: string };
export type HoursData = { timezone: string; schedule: Schedule; holidays: string[] };
export type SetData = { attribute: string; expr: string };
export type TagData = { labels: string[] };
export type WebhookData = { url: string; timeout_ms: number };
export type QueueData = { timeout_seconds: number };
export type AssignData = { strategy: AssignStrategy; team: string; skills: string[]; timeout_seconds: number };

/** Each node type and the shape of its data. */
export type NodeDataMap = {
  start: EmptyData;
  condition: ConditionData;
  switch: SwitchData;
  reply: ReplyData;
  faq: EmptyData;
  llm: LlmData;
  business_hours: HoursData;
  set: SetData;
  tag: TagData;
  webhook: WebhookData;
  queue: QueueData;
  assign: AssignData;
  end: EmptyData;
};

export type FlowNodeType = keyof NodeDataMap;

/** A node on the canvas: `type` picks the shape of `data`. */
export type EditorNode = { [T in FlowNodeType]: Node<NodeDataMap[T], T> }[FlowNodeType];
export type NodeOf<T extends FlowNodeType> = Node<NodeDataMap[T], T>;

/**
 * An edge on the canvas. Its `sourceHandle` names the branch it leaves by
 * (see handleId in convert.ts); `label` is that branch, for display.
 */
export type EditorEdge = Edge;

/** A client-side problem with a node's data: an i18n key under flows.problems and its values. */
export interface Problem {
  key: ProblemKey;
  values?: Record<string, string | number>;
}

export type ProblemKey =
  | 'exprRequired'
  | 'casesCount'
  | 'caseLabel'
  | 'textRequired'
  | 'textTooLong'
  | 'timeoutRange'
  | 'timezoneRequired'
  | 'spanInvalid'
  | 'holidayInvalid'
  | 'attributeInvalid'
  | 'labelsCount'
  | 'urlInvalid'
  | 'secondsRange'
  | 'skillsRequired';
