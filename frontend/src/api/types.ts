// Wire types of the Kefu REST API. Ids are strings, times are RFC 3339 UTC
// strings. The types of record are generated from api/openapi.yaml into
// schema.d.ts (`npm run gen:api`; `npm run check:api` fails when it is
// stale); the ones here derive from them where the shapes agree, and the
// rest move over as the pages using them are next touched.
import type { components } from './schema';

type Schemas = components['schemas'];

export type Role = 'owner' | 'admin' | 'supervisor' | 'agent' | 'developer';
/** A role a user may be given: a built-in one or one of the workspace's custom roles. */
export type AgentRole = 'agent' | 'supervisor' | 'admin' | (string & {});
export type ApiKeyRole = Schemas['ApiKeyRole'];
export type PresenceStatus = Schemas['PresenceStatus'];
export type ConversationStatus = Schemas['ConversationStatus'];
export type AuthorType = Schemas['AuthorType'];
/** GET /usage: the plan's limits and what is used. */
export type Usage = Schemas['Usage'];
/** POST /conversations: start a conversation with a known visitor. */
export type ConversationStart = Schemas['ConversationStart'];
/** The error envelope's body (`params` on quota_exceeded). */
export type ApiErrorBody = Schemas['Error']['error'];

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  widget_key: string;
  allowed_origins?: string[];
  /** On GET/PATCH /tenant: whether the server can send e-mail. */
  email_configured?: boolean;
}

export interface Me {
  user: User;
  tenant: Tenant;
  permissions: string[];
}

export interface SignupRequest {
  company: string;
  name: string;
  email: string;
  password: string;
}

export interface SignupResponse {
  tenant: Tenant;
  user: User;
  token: string;
}

export interface LoginRequest {
  tenant: string;
  email: string;
  password: string;
}

export interface LoginResponse {
  token: string;
  user: User;
}

export interface Agent {
  id: string;
  email: string;
  name: string;
  role: Role;
  skills: string[];
  teams?: string[];
  max_concurrent: number;
  status: PresenceStatus;
  /** False once deactivated (cannot sign in, never routed to). */
  active?: boolean;
  deactivated_at?: string;
}

/** PATCH /agents/{id}: only the fields present change. */
export interface UpdateAgentRequest {
  name?: string;
  role?: AgentRole;
  skills?: string[];
  max_concurrent?: number;
}

export interface ChangePasswordRequest {
  current_password: string;
  new_password: string;
}

export interface CreateAgentRequest {
  email: string;
  name: string;
  password: string;
  role: AgentRole;
  skills: string[];
  max_concurrent: number;
}

export interface ApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  created_at: string;
}

export interface CreatedApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  key: string;
}

export interface Visitor {
  id: string;
  name?: string | null;
  email?: string | null;
  attributes?: Record<string, unknown> | null;
}

export interface LastMessage {
  body: string;
  author_type: AuthorType;
  created_at: string;
}

export interface Conversation {
  id: string;
  status: ConversationStatus;
  visitor: Visitor;
  assignee_id?: string | null;
  team?: string | null;
  last_seq: number;
  created_at: string;
  updated_at: string;
  last_message?: LastMessage | null;
  /** The visitor's newest message (the last message is often the bot's or an agent's). */
  last_visitor_message?: LastMessage | null;
  /** Since when the visitor waits for a person's answer; null once answered. */
  waiting_since?: string | null;
  /** Labels set by agents and by the routing flow's tag nodes. */
  labels?: string[] | null;
  priority?: Priority;
  /** While in the future the conversation is out of the inbox. */
  snoozed_until?: string | null;
  /** The visitor's rating once given. */
  csat?: CSAT | null;
}

/** A visitor's rating of a resolved conversation. */
export interface CSAT {
  score: number;
  comment: string;
  submitted_at: string;
}

export const PRIORITIES = ['none', 'low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface ConversationPatch {
  labels?: string[];
  priority?: Priority;
  snoozed_until?: string | null;
}

export interface ConversationCounts {
  mine: number;
  queue: number;
  all: number;
  snoozed: number;
  by_status: Partial<Record<ConversationStatus, number>>;
  by_team: Record<string, number>;
}

export interface Team {
  id: string;
  name: string;
  members: string[];
  created_at: string;
  updated_at: string;
}

export type CannedScope = 'tenant' | 'personal';

export interface CannedReply {
  id: string;
  shortcut: string;
  body: string;
  scope: CannedScope;
  owner_id?: string | null;
  created_at: string;
  updated_at: string;
}

export type SearchType = 'messages' | 'contacts' | 'conversations';

export interface SearchHit {
  type: 'message' | 'contact' | 'conversation';
  conversation_id?: string;
  message?: Message;
  visitor?: Visitor;
  conversation?: Conversation;
  field: string;
  snippet: string;
  /** [start, end) in Unicode code points of snippet. */
  highlights: [number, number][];
}

export interface SearchPage {
  results: SearchHit[];
  next_cursor?: string | null;
}

/** A system message's code and parameters; clients render it in their own language. */
export interface SystemNote {
  code: string;
  params?: Record<string, string> | null;
}

export interface Author {
  type: AuthorType;
  id?: string | null;
  name?: string | null;
}

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  client_id?: string | null;
  author: Author;
  body: string;
  private?: boolean;
  attachments?: Attachment[] | null;
  /** For author.type system: what happened, as a code and parameters. */
  system?: SystemNote | null;
  created_at: string;
}

/** A stored file: what POST /api/v1/uploads answers and what messages carry. */
export interface Attachment {
  id: string;
  name: string;
  content_type: string;
  size: number;
  /** Signed link anyone holding it can GET; a path on the Kefu server (prefix its origin off-site). */
  url: string;
}

export interface ConversationFilter {
  status?: ConversationStatus;
  assignee?: string;
  limit?: number;
  cursor?: string;
  label?: string;
  team?: string;
  sort?: 'recent' | 'priority';
  snoozed?: 'only' | 'include';
  open?: boolean;
}

export interface ConversationPage {
  conversations: Conversation[];
  next_cursor?: string | null;
}

export interface PostMessageRequest {
  /** May be empty when at least one attachment is sent. */
  body: string;
  client_id?: string;
  private?: boolean;
  /** Upload ids (at most 10). */
  attachments?: string[];
}

export interface WidgetConfig {
  tenant_name: string;
  agents_online: boolean | number;
  /** The workspace's business hours while set and enabled (older servers: absent). */
  business_hours?: WidgetHours | null;
  queue?: { length: number; expected_wait_seconds: number | null };
  /** Nobody can answer now (no agent online, or closed): offer the offline form. */
  offline?: boolean;
}

/** Opening intervals ["09:00","18:00"] by weekday (mon … sun). */
export type WeeklySchedule = Partial<Record<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun', [string, string][]>>;

export interface WidgetHours {
  open_now: boolean;
  /** RFC 3339; null while open or when it never opens. */
  next_open_at: string | null;
  timezone: string;
  schedule: WeeklySchedule;
}

export interface BusinessHoursInput {
  enabled: boolean;
  timezone: string;
  schedule: WeeklySchedule;
  holidays: string[];
}

export interface BusinessHours extends BusinessHoursInput {
  configured: boolean;
  open_now: boolean | null;
  next_open_at: string | null;
  /** The server can e-mail replies to visitors who left (KEFU_SMTP_URL). */
  email_configured: boolean;
  updated_at: string | null;
}

export interface OfflineMessageRequest {
  widget_key: string;
  visitor_token?: string;
  name?: string;
  email: string;
  message: string;
  client_id?: string;
}

export interface OfflineMessage {
  visitor_id: string;
  visitor_token: string;
  conversation_id: string;
  message: Message;
  email_configured: boolean;
}

export interface WidgetSessionRequest {
  widget_key: string;
  visitor_token?: string;
  visitor: {
    name?: string;
    email?: string;
    attributes: Record<string, unknown>;
  };
}

export interface WidgetSession {
  visitor_id: string;
  visitor_token: string;
}

// Routing flows (api/openapi.yaml, "Flows"). A node's data depends on its
// type; frontend/src/flows/registry.ts knows each type's shape.

export type FlowStatus = 'draft' | 'published';
export type FlowEvent = 'conversation.created' | 'message.created';

export interface FlowPosition {
  x: number;
  y: number;
}

export interface FlowNode {
  id: string;
  type: string;
  data?: Record<string, unknown> | null;
  position: FlowPosition;
}

export interface FlowEdge {
  id: string;
  source: string;
  target: string;
  /** The branch it leaves by ("true", "open", …); absent or "" for the single way on. */
  label?: string;
}

export interface FlowGraph {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export interface Flow {
  id: string;
  name: string;
  /** The version this answer shows. */
  version: number;
  latest_version: number;
  published_version: number | null;
  /** published when the latest version is the one routing. */
  status: FlowStatus;
  /** The tenant's one flow that routes conversations. */
  active: boolean;
  graph: FlowGraph;
  created_at: string;
  updated_at: string;
}

export interface SaveFlowRequest {
  name: string;
  graph: FlowGraph;
}

export interface FlowVersion {
  version: number;
  created_by: string;
  created_at: string;
  published: boolean;
}

export interface SimulateVisitor {
  name?: string;
  email?: string;
  language?: string;
  country?: string;
  page_url?: string;
  referrer?: string;
  returning?: boolean;
  attributes: Record<string, unknown>;
}

export interface SimulateRequest {
  event: FlowEvent;
  visitor: SimulateVisitor;
  message?: { text: string };
  /** RFC 3339; absent: now. */
  at?: string;
  /** An unsaved graph to run instead of the latest saved version. */
  graph?: FlowGraph;
  /** Ask the real model at llm nodes (a dry run); otherwise it is assumed to answer. */
  llm?: boolean;
}

/** One line of a run's trace; node "" is a note (e.g. queued for want of an error branch). */
export interface TraceStep {
  node: string;
  type: string;
  outcome: string;
  detail: string;
}

export type FlowAction = 'assign' | 'queue' | 'end';

export interface SimulateResult {
  action: FlowAction;
  agent_id?: string;
  agent_name?: string;
  team?: string;
  replies: string[];
  tags?: string[];
  set?: Record<string, unknown>;
  waiting?: string;
  timeout_seconds?: number;
  trace: TraceStep[];
}

export interface SimulateResponse {
  trace: TraceStep[];
  result: SimulateResult;
}

export interface ReplayExample {
  conversation_id: string;
  message: string;
  before: string;
  after: string;
}

export interface ReplayReport {
  total: number;
  different: number;
  examples: ReplayExample[];
}

/** What one run of the routing flow decided, as logged on the conversation. */
export interface RoutingDecision {
  /** What the flow ran on: conversation.created, message.created, agent.offline, conversation.idle. */
  event: string;
  /** "" when the built-in default flow routed. */
  flow_id: string;
  flow_version: number;
  action: FlowAction;
  agent_id?: string;
  agent_name?: string;
  /** The node the conversation waits at, when queued there. */
  waiting?: string;
  trace: TraceStep[] | null;
}

/**
 * Something that happened to a conversation and is not a message (no seq):
 * for now every run of the routing flow, kind "routing".
 */
export interface ConversationEvent {
  id: string;
  kind: 'routing' | (string & {});
  detail: RoutingDecision;
  created_at: string;
}

/** A webhook event type (GET /api/v1/webhooks/events). */
export type WebhookEventType =
  | 'conversation.created'
  | 'conversation.assigned'
  | 'conversation.transferred'
  | 'conversation.resolved'
  | 'conversation.reopened'
  | 'message.created'
  | 'contact.created'
  | 'contact.updated'
  | 'csat.submitted';

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEventType[];
  enabled: boolean;
  include_private: boolean;
  description: string;
  /** Why Kefu turned it off (its deliveries failed for 24 hours), or null. */
  disabled_reason: string | null;
  disabled_at: string | null;
  previous_secret_expires_at: string | null;
  /** Only in the answers to create and rotate-secret. */
  secret?: string;
  created_at: string;
  updated_at: string;
}

export interface WebhookInput {
  url?: string;
  events?: WebhookEventType[];
  enabled?: boolean;
  include_private?: boolean;
  description?: string;
}

/** One attempt in a webhook's delivery log. */
export interface WebhookDelivery {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  url: string;
  success: boolean;
  request_headers: Record<string, string>;
  request_body: string;
  response_status: number;
  response_headers: Record<string, string>;
  response_body: string;
  latency_ms: number;
  error: string;
  created_at: string;
}

/** One entry of the audit log: who did what, when and from where. */
export interface AuditEntry {
  id: string;
  at: string;
  actor: { type: 'user' | 'api_key' | 'anonymous'; id?: string; name?: string };
  action: string;
  target_type?: string;
  target_id?: string;
  details: Record<string, unknown>;
  ip: string;
  user_agent: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next_cursor: string | null;
}

export interface WebhookDeliveryPage {
  deliveries: WebhookDelivery[];
  next_cursor: string | null;
}

/** An FAQ entry. */
export interface Faq {
  id: string;
  question: string;
  answer: string;
  alternates: string[];
  keywords: string[];
  created_at: string;
  updated_at: string;
}

export interface FaqInput {
  question: string;
  answer: string;
  alternates?: string[];
  keywords?: string[];
}

export interface FaqMatch {
  faq: Faq;
  /** Confidence in [0, 1], compared with the tenant's threshold. */
  score: number;
  bm25: number;
}

export interface FaqMatchResult {
  answer: FaqMatch | null;
  matches: FaqMatch[];
  threshold: number;
}

export interface Article {
  id: string;
  title: string;
  body?: string;
  size: number;
  chunks: number;
  created_at: string;
  updated_at: string;
}

export type LlmProvider = 'openai' | 'anthropic';

export interface LlmSettings {
  provider: LlmProvider | '';
  base_url: string;
  model: string;
  has_api_key: boolean;
  system_prompt: string;
  temperature: number | null;
  max_tokens: number;
  timeout_ms: number;
  embedding_model: string;
  updated_at?: string | null;
}

export interface LlmInput {
  provider: LlmProvider;
  base_url?: string;
  model: string;
  /** Absent: keep the stored key; "": remove it. */
  api_key?: string;
  system_prompt?: string;
  temperature?: number | null;
  max_tokens?: number;
  timeout_ms?: number;
  embedding_model?: string;
}

export interface LlmTestResult {
  ok: boolean;
  latency_ms: number;
  model: string;
  reply?: string;
  error?: string;
}

export interface BotSettings {
  faq_threshold: number;
  handoff_phrases: string[];
}

export interface Suggestion {
  text: string;
  source: 'llm' | 'faq' | 'none';
  faq_id?: string;
  score?: number;
}

/** A person who wrote to the business (a visitor; the same id). */
export interface Contact {
  id: string;
  name: string;
  email: string;
  phone: string;
  attributes: Record<string, unknown>;
  notes: string;
  external_id: string;
  created_at: string;
  updated_at: string;
  last_seen_at: string;
}

export interface ContactWithConversations extends Contact {
  conversations: Conversation[];
}

export interface ContactInput {
  name?: string;
  email?: string;
  phone?: string;
  notes?: string;
  attributes?: Record<string, unknown>;
}

/** A pending invitation (GET/POST /invites); the link is only in the POST's answer. */
export interface Invite {
  id: string;
  email: string;
  role: string;
  skills: string[];
  max_concurrent: number;
  created_at: string;
  expires_at: string;
}

export interface CreatedInvite extends Invite {
  url: string;
  emailed: boolean;
}

export interface InviteRequest {
  email: string;
  role?: string;
  skills?: string[];
  max_concurrent?: number;
}

export interface InviteDetails {
  email: string;
  role: string;
  workspace: string;
}

/** A role and the permissions ("object:action") it holds. */
export interface RoleDefinition {
  name: string;
  built_in: boolean;
  editable: boolean;
  permissions: string[];
  users: number;
}

export interface RolesResponse {
  roles: RoleDefinition[];
  permissions: string[];
}

export interface ReportQuery {
  from: string;
  to: string;
  tz: string;
}

export interface ReportDurations {
  count: number;
  median_seconds: number | null;
  p90_seconds: number | null;
}

export interface ReportCsat {
  count: number;
  average: number | null;
  distribution: number[];
}

export interface ReportOverview {
  from: string;
  to: string;
  tz: string;
  conversations: number;
  resolved: number;
  per_day: { date: string; conversations: number; resolved: number }[];
  first_response: ReportDurations;
  resolution: ReportDurations;
  /** Null until the workspace has a ratings column. */
  csat: ReportCsat | null;
  bot_deflection: { resolved: number; deflected: number; rate: number | null };
}

export interface ReportGroup {
  id: string;
  name: string;
  conversations: number;
  resolved: number;
  first_response: ReportDurations;
  resolution: ReportDurations;
  csat: ReportCsat | null;
}

export interface ReportHeatmap {
  /** cells[weekday 0 = Sunday][hour] */
  cells: number[][];
  max: number;
}
