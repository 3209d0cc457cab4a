// Wire types of the Kefu REST API (shared/contract.md). Ids are strings,
// times are RFC 3339 UTC strings.

export type Role = 'owner' | 'admin' | 'supervisor' | 'agent' | 'developer';
export type AgentRole = 'agent' | 'supervisor' | 'admin';
export type ApiKeyRole = 'developer' | 'admin';
export type PresenceStatus = 'online' | 'away' | 'offline';
export type ConversationStatus = 'bot' | 'queued' | 'assigned' | 'resolved';
export type AuthorType = 'visitor' | 'agent' | 'bot' | 'system';

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
  max_concurrent: number;
  status: PresenceStatus;
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
  attachments?: unknown[];
  created_at: string;
}

export interface ConversationFilter {
  status?: ConversationStatus;
  assignee?: string;
  limit?: number;
  cursor?: string;
}

export interface ConversationPage {
  conversations: Conversation[];
  next_cursor?: string | null;
}

export interface PostMessageRequest {
  body: string;
  client_id?: string;
  private?: boolean;
}

export interface WidgetConfig {
  tenant_name: string;
  agents_online: boolean | number;
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
