// Wire types of the Kefu REST API. Ids are strings, times are RFC 3339 UTC
// strings. The types of record are generated from api/openapi.yaml into
// schema.d.ts (`npm run gen:api`; `npm run check:api` fails when it is
// stale); the ones here derive from them. The few interfaces left are the
// client's own (query filters, the widget's JS API), not answers of the API.
import type { components } from './schema';

type Schemas = components['schemas'];

/** A workspace role: owner, admin, supervisor, agent, developer, or one of the workspace's own. */
export type Role = Schemas['Role'];
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

export type User = Schemas['User'];

export type Tenant = Schemas['Tenant'];

/** GET /me as the web apps see it: they sign in people, never API keys. */
export type Me = Omit<Schemas['Me'], 'user'> & { user: User };

export type SignupRequest = Schemas['SignupRequest'];

export type SignupResponse = Schemas['SignupResult'];

export type LoginRequest = Schemas['LoginRequest'];

/** A workspace an address may sign in to (listed only after its password matched there). */
export type WorkspaceRef = Schemas['WorkspaceRef'];

/** A session, or (by e-mail alone, matched in several workspaces) the workspaces to choose from. */
export type LoginResponse = { token: string; user: User; workspaces?: undefined } | { token?: undefined; user?: undefined; workspaces: WorkspaceRef[] };

/** GET /onboarding: the first-day checklist. */
export type Onboarding = Schemas['Onboarding'];
export type OnboardingStepId = Onboarding['steps'][number]['id'];

/** GET /config: what this server offers the sign-in pages. */
export type PublicConfig = Schemas['PublicConfig'];

export type Agent = Schemas['Agent'];

/** PATCH /agents/{id}: only the fields present change. */
export type UpdateAgentRequest = Schemas['AgentUpdate'];

export type ChangePasswordRequest = Schemas['PasswordChange'];

export type CreateAgentRequest = Schemas['AgentCreate'];

export type ApiKey = Schemas['ApiKey'];

export type CreatedApiKey = Schemas['ApiKeyCreated'];

export type Visitor = Schemas['Visitor'];

export type LastMessage = Schemas['LastMessage'];

export type Conversation = Schemas['Conversation'];

/** A visitor's rating of a resolved conversation. */
export type CSAT = Schemas['CSAT'];

export const PRIORITIES = ['none', 'low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

export type ConversationPatch = Schemas['ConversationPatch'];

export type ConversationCounts = Schemas['ConversationCounts'];

export type Team = Schemas['Team'];

export type CannedScope = 'tenant' | 'personal';

export type CannedReply = Schemas['CannedReply'];

export type SearchType = 'messages' | 'contacts' | 'conversations';

export type SearchHit = Schemas['SearchHit'];

export type SearchPage = Schemas['SearchPage'];

/** A system message's code and parameters; clients render it in their own language. */
export type SystemNote = Schemas['SystemNote'];

export type Author = Schemas['Author'];

export type Message = Schemas['Message'];

/** A stored file: what POST /api/v1/uploads answers and what messages carry. */
export type Attachment = Schemas['Attachment'];

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

export type ConversationPage = Schemas['ConversationPage'];

export type PostMessageRequest = Schemas['MessageCreate'];

export type WidgetConfig = Schemas['WidgetConfig'];

export type WidgetSessionRequest = Schemas['WidgetSessionRequest'];

export type WidgetSession = Schemas['WidgetSession'];

export type PrechatFieldType = 'name' | 'email' | 'phone' | 'custom';

/** One question of the widget's pre-chat form. */
export type PrechatField = Schemas['PrechatField'];

export type PrechatForm = Schemas['PrechatForm'];

/** How the widget looks and behaves (api/openapi.yaml, WidgetSettings). */
export type WidgetSettings = Schemas['WidgetSettings'];

/** Opening intervals ["09:00","18:00"] by weekday (mon … sun). */
export type WeeklySchedule = Schemas['WeeklySchedule'];

export type WidgetHours = Schemas['WidgetHours'];

export type BusinessHoursInput = Schemas['BusinessHoursInput'];

export type BusinessHours = Schemas['BusinessHours'];

export type OfflineMessageRequest = Schemas['OfflineMessageRequest'];

export type OfflineMessage = Schemas['OfflineMessage'];

export type RefusedOrigin = Schemas['RefusedOrigin'];

/** The admin's view: the settings, allowed origins, identity secret and refused origins. */
export type WidgetSettingsAdmin = Schemas['WidgetSettingsAdmin'];

/** What Kefu.identify passes: hash = hex HMAC-SHA256(identity secret, id), made on the site's server. */
export interface WidgetIdentity {
  id: string;
  name?: string;
  email?: string;
  hash?: string;
}

export type PrechatAnswers = Schemas['PrechatAnswers'];

// Routing flows (api/openapi.yaml, "Flows"). A node's data depends on its
// type; frontend/src/flows/registry.ts knows each type's shape.

export type FlowStatus = Schemas['Flow']['status'];
export type FlowEvent = 'conversation.created' | 'message.created';

export interface FlowPosition {
  x: number;
  y: number;
}

export type FlowNode = Schemas['FlowNode'];

export type FlowEdge = Schemas['FlowEdge'];

export type FlowGraph = Schemas['FlowGraph'];

export type Flow = Schemas['Flow'];

export type SaveFlowRequest = Schemas['FlowInput'];

export type FlowVersion = Schemas['FlowVersion'];

export type SimulateVisitor = Schemas['SimulateRequest']['visitor'];

export type SimulateRequest = Schemas['SimulateRequest'];

/** One line of a run's trace; node "" is a note (e.g. queued for want of an error branch). */
export type TraceStep = Schemas['TraceStep'];

/** What a simulated run decided. */
export type SimulateResult = Schemas['SimulateResult']['result'];
export type FlowAction = SimulateResult['action'];
export type SimulateResponse = Schemas['SimulateResult'];

export type ReplayExample = Schemas['ReplayExample'];

export type ReplayReport = Schemas['ReplayReport'];

/** What one run of the routing flow decided, as logged on the conversation. */
export type RoutingDecision = Schemas['RoutingDecision'];

/**
 * Something that happened to a conversation and is not a message (no seq):
 * for now every run of the routing flow, kind "routing".
 */
export type ConversationEvent = Schemas['ConversationEvent'];

/** A webhook event type (GET /api/v1/webhooks/events). */
export type WebhookEventType = Schemas['WebhookEvent'];

export type Webhook = Schemas['Webhook'];

export type WebhookInput = Schemas['WebhookInput'];

/** One attempt in a webhook's delivery log. */
export type WebhookDelivery = Schemas['WebhookDeliveryAttempt'];

/** One entry of the audit log: who did what, when and from where. */
export type AuditEntry = Schemas['AuditEntry'];

export type AuditPage = Schemas['AuditPage'];

export type WebhookDeliveryPage = Schemas['WebhookDeliveryPage'];

/** An FAQ entry. */
export type Faq = Schemas['Faq'];

export type FaqInput = Schemas['FaqInput'];

export type FaqMatch = Schemas['FaqMatch'];

export type FaqMatchResult = Schemas['FaqMatchResult'];

export type Article = Schemas['Article'];

export type LlmProvider = Schemas['LlmBotInput']['provider'];

export type LlmSettings = Schemas['LlmBot'];

export type LlmInput = Schemas['LlmBotInput'];

export type LlmTestResult = Schemas['LlmTestResult'];

export type BotSettings = Schemas['BotSettings'];

export type Suggestion = Schemas['Suggestion'];

/** A person who wrote to the business (a visitor; the same id). */
export type Contact = Schemas['Contact'];

export type ContactWithConversations = Schemas['ContactWithConversations'];

export type ContactInput = Schemas['ContactInput'];

/** A pending invitation (GET/POST /invites); the link is only in the POST's answer. */
export type Invite = Schemas['Invite'];

export type CreatedInvite = Schemas['InviteCreated'];

export type InviteRequest = Schemas['InviteRequest'];

export type InviteDetails = Schemas['InviteDetails'];

/** A role and the permissions ("object:action") it holds. */
export type RoleDefinition = Schemas['RoleDefinition'];

export type RolesResponse = Schemas['RolesResponse'];

export interface ReportQuery {
  from: string;
  to: string;
  tz: string;
}

export type ReportDurations = Schemas['ReportDurations'];

export type ReportCsat = Schemas['ReportCSAT'];

export type ReportOverview = Schemas['ReportOverview'];

export type ReportGroup = Schemas['ReportGroup'];

export type ReportHeatmap = Schemas['ReportHeatmap'];
