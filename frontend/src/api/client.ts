import { ApiError, NETWORK_ERROR, errorFromBody } from './errors';
import { MAX_UPLOAD_BYTES } from './attachments';
import type {
  Article,
  AuditPage,
  BotSettings,
  Faq,
  FaqInput,
  FaqMatchResult,
  LlmInput,
  LlmSettings,
  LlmTestResult,
  Suggestion,
  Agent,
  Attachment,
  CreatedInvite,
  Invite,
  InviteDetails,
  InviteRequest,
  RoleDefinition,
  RolesResponse,
  ReportGroup,
  ReportHeatmap,
  ReportOverview,
  ReportQuery,
  CannedReply,
  Contact,
  ContactInput,
  ContactWithConversations,
  CannedScope,
  ConversationCounts,
  ConversationPatch,
  SearchPage,
  SearchType,
  Team,
  ApiKey,
  ApiKeyRole,
  Conversation,
  ConversationEvent,
  ConversationFilter,
  ConversationPage,
  ChangePasswordRequest,
  CreateAgentRequest,
  CreatedApiKey,
  Flow,
  FlowVersion,
  LoginRequest,
  LoginResponse,
  Onboarding,
  PublicConfig,
  WorkspaceRef,
  Me,
  Message,
  PostMessageRequest,
  ReplayReport,
  SaveFlowRequest,
  SimulateRequest,
  SimulateResponse,
  SignupRequest,
  SignupResponse,
  Tenant,
  UpdateAgentRequest,
  WidgetConfig,
  WidgetSession,
  WidgetSessionRequest,
  WidgetSettings,
  WidgetSettingsAdmin,
  PrechatAnswers,
  BusinessHours,
  BusinessHoursInput,
  OfflineMessage,
  OfflineMessageRequest,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryPage,
  WebhookInput,
  Usage,
} from './types';

export interface ApiClientOptions {
  /** Prefix for every path, e.g. "" (same origin) or "https://kefu.example.com". */
  baseUrl?: string;
  /** The bearer token to send, if any. */
  getToken?: () => string | null | undefined;
  /** Called when a request that carried a token is answered 401. */
  onUnauthorized?: () => void;
  /** The UI's language, sent as Accept-Language: the server's error messages follow it. */
  getLanguage?: () => string | undefined;
  fetch?: typeof fetch;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The one typed client of the Kefu REST API. Every method resolves with the
 * decoded body or rejects with an ApiError (status, contract code, message,
 * per-field messages). Components never call fetch themselves.
 */
export function createApiClient(opts: ApiClientOptions = {}) {
  const base = (opts.baseUrl ?? '').replace(/\/$/, '');
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));

  async function request<T>(method: Method, path: string, body?: unknown, query?: Record<string, string | number | undefined>): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = opts.getToken?.() ?? undefined;
    if (token) headers.Authorization = `Bearer ${token}`;
    const lang = opts.getLanguage?.();
    if (lang) headers['Accept-Language'] = lang;
    // FormData goes as is: the browser sets multipart/form-data with its boundary.
    const form = typeof FormData !== 'undefined' && body instanceof FormData;
    if (body !== undefined && !form) headers['Content-Type'] = 'application/json';
    let url = base + path;
    if (query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, String(v));
      const s = qs.toString();
      if (s) url += `?${s}`;
    }
    let res: Response;
    try {
      res = await doFetch(url, { method, headers, body: body === undefined ? undefined : form ? (body as FormData) : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, NETWORK_ERROR, e instanceof Error && e.message ? e.message : 'network error');
    }
    const text = res.status === 204 ? '' : await res.text().catch(() => '');
    if (!res.ok) {
      const err = errorFromBody(res.status, res.statusText, text);
      if (res.status === 401 && token) opts.onUnauthorized?.();
      throw err;
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', 'the server sent a response that is not JSON');
    }
  }

  /** GETs a file (e.g. a CSV export) with the caller's credentials. */
  async function download(path: string, query: Record<string, string>): Promise<Blob> {
    const headers: Record<string, string> = {};
    const token = opts.getToken?.() ?? undefined;
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await doFetch(`${base}${path}?${new URLSearchParams(query).toString()}`, { headers });
    } catch {
      throw new ApiError(0, NETWORK_ERROR, 'network error');
    }
    if (!res.ok) throw errorFromBody(res.status, res.statusText, await res.text().catch(() => ''));
    return res.blob();
  }

  const enc = encodeURIComponent;

  return {
    request,
    signup: (body: SignupRequest) => request<SignupResponse>('POST', '/api/v1/signup', body),
    login: (body: LoginRequest) => request<LoginResponse>('POST', '/api/v1/auth/login', body),
    /** Asks for a password-reset e-mail; the answer is the same whether the address has an account or not. */
    forgotPassword: (body: { email: string; tenant?: string }) => request<void>('POST', '/api/v1/auth/forgot', body),
    /** Sets a new password with a mailed link's token; every session of the account ends. */
    resetPassword: (body: { token: string; password: string }) => request<{ workspace: WorkspaceRef; email: string }>('POST', '/api/v1/auth/reset', body),
    /** Public: what this server offers (e-mail or not). */
    config: () => request<PublicConfig>('GET', '/api/v1/config'),
    onboarding: {
      get: () => request<Onboarding>('GET', '/api/v1/onboarding'),
      setDismissed: (dismissed: boolean) => request<Onboarding>('PATCH', '/api/v1/onboarding', { dismissed }),
    },
    logout: () => request<void>('POST', '/api/v1/auth/logout'),
    /** Ends every session of the signed-in user, this one included. */
    logoutAll: () => request<void>('POST', '/api/v1/auth/logout-all'),
    me: () => request<Me>('GET', '/api/v1/me'),
    /** Sets the signed-in user's password; their other sessions end. */
    changePassword: (body: ChangePasswordRequest) => request<void>('POST', '/api/v1/me/password', body),

    tenant: {
      get: () => request<Tenant>('GET', '/api/v1/tenant'),
      update: (patch: { name?: string; allowed_origins?: string[] }) => request<Tenant>('PATCH', '/api/v1/tenant', patch),
    },

    agents: {
      list: async () => (await request<{ agents: Agent[] }>('GET', '/api/v1/agents')).agents ?? [],
      create: (body: CreateAgentRequest) => request<Agent>('POST', '/api/v1/agents', body),
      update: (id: string, patch: UpdateAgentRequest) => request<Agent>('PATCH', `/api/v1/agents/${enc(id)}`, patch),
      /** Signs the user out everywhere and stops routing to them. */
      deactivate: (id: string) => request<Agent>('POST', `/api/v1/agents/${enc(id)}/deactivate`),
      reactivate: (id: string) => request<Agent>('POST', `/api/v1/agents/${enc(id)}/reactivate`),
      /** Sets another user's password; their sessions end. */
      resetPassword: (id: string, password: string) => request<void>('POST', `/api/v1/agents/${enc(id)}/password`, { password }),
    },

    invites: {
      list: async () => (await request<{ invites: Invite[] }>('GET', '/api/v1/invites')).invites ?? [],
      create: (body: InviteRequest) => request<CreatedInvite>('POST', '/api/v1/invites', body),
      revoke: (id: string) => request<void>('DELETE', `/api/v1/invites/${enc(id)}`),
      /** What an invitation link is for (public; the token goes in the body). */
      lookup: (token: string) => request<InviteDetails>('POST', '/api/v1/invites/lookup', { token }),
      accept: (body: { token: string; name: string; password: string }) => request<SignupResponse>('POST', '/api/v1/invites/accept', body),
    },

    reports: {
      overview: (q: ReportQuery) => request<ReportOverview>('GET', '/api/v1/reports/overview', undefined, { ...q }),
      agents: async (q: ReportQuery) => (await request<{ agents: ReportGroup[] }>('GET', '/api/v1/reports/agents', undefined, { ...q })).agents ?? [],
      teams: async (q: ReportQuery) => (await request<{ teams: ReportGroup[] }>('GET', '/api/v1/reports/teams', undefined, { ...q })).teams ?? [],
      heatmap: (q: ReportQuery) => request<ReportHeatmap>('GET', '/api/v1/reports/heatmap', undefined, { ...q }),
      csv: (kind: 'overview' | 'agents' | 'teams' | 'heatmap', q: ReportQuery) => download(`/api/v1/reports/${kind}`, { ...q, format: 'csv' }),
    },

    roles: {
      list: () => request<RolesResponse>('GET', '/api/v1/roles'),
      create: (name: string, permissions: string[]) => request<RoleDefinition>('POST', '/api/v1/roles', { name, permissions }),
      update: (name: string, permissions: string[]) => request<RoleDefinition>('PUT', `/api/v1/roles/${enc(name)}`, { permissions }),
      remove: (name: string) => request<void>('DELETE', `/api/v1/roles/${enc(name)}`),
    },
    /** The workspace's plan and what of it is used. */
    usage: () => request<Usage>('GET', '/api/v1/usage'),

    apiKeys: {
      list: async () => (await request<{ api_keys: ApiKey[] }>('GET', '/api/v1/api-keys')).api_keys ?? [],
      create: (body: { name: string; role: ApiKeyRole }) => request<CreatedApiKey>('POST', '/api/v1/api-keys', body),
      revoke: (id: string) => request<void>('DELETE', `/api/v1/api-keys/${enc(id)}`),
    },

    audit: {
      list: (filter: { action?: string; cursor?: string; limit?: number }) =>
        request<AuditPage>('GET', '/api/v1/audit', undefined, { action: filter.action || undefined, cursor: filter.cursor, limit: filter.limit ?? 50 }),
    },

    webhooks: {
      list: async () => (await request<{ webhooks: Webhook[] }>('GET', '/api/v1/webhooks')).webhooks ?? [],
      create: (body: WebhookInput) => request<Webhook>('POST', '/api/v1/webhooks', body),
      update: (id: string, body: WebhookInput) => request<Webhook>('PATCH', `/api/v1/webhooks/${enc(id)}`, body),
      remove: (id: string) => request<void>('DELETE', `/api/v1/webhooks/${enc(id)}`),
      rotateSecret: (id: string) => request<Webhook>('POST', `/api/v1/webhooks/${enc(id)}/rotate-secret`),
      test: (id: string) => request<WebhookDelivery>('POST', `/api/v1/webhooks/${enc(id)}/test`),
      deliveries: (id: string, cursor?: string, limit = 20) => request<WebhookDeliveryPage>('GET', `/api/v1/webhooks/${enc(id)}/deliveries`, undefined, { limit, cursor }),
      redeliver: (id: string, deliveryId: string) => request<WebhookDelivery>('POST', `/api/v1/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/redeliver`),
    },

    conversations: {
      list: (f: ConversationFilter = {}) =>
        request<ConversationPage>('GET', '/api/v1/conversations', undefined, {
          status: f.status,
          assignee: f.assignee,
          limit: f.limit,
          cursor: f.cursor,
          label: f.label,
          team: f.team,
          sort: f.sort,
          snoozed: f.snoozed,
          open: f.open ? 'true' : undefined,
        }),
      counts: () => request<ConversationCounts>('GET', '/api/v1/conversations/counts'),
      patch: (id: string, body: ConversationPatch) => request<Conversation>('PATCH', `/api/v1/conversations/${enc(id)}`, body),
      unassign: (id: string) => request<Conversation>('POST', `/api/v1/conversations/${enc(id)}/unassign`),
      /** Undoes a resolve (the conversation goes back to where it was). */
      reopen: (id: string) => request<Conversation>('POST', `/api/v1/conversations/${enc(id)}/reopen`),
      get: (id: string) => request<Conversation>('GET', `/api/v1/conversations/${enc(id)}`),
      messages: async (id: string, afterSeq = 0, limit = 200) =>
        (
          await request<{ messages: Message[] }>('GET', `/api/v1/conversations/${enc(id)}/messages`, undefined, {
            after_seq: afterSeq,
            limit,
          })
        ).messages ?? [],
      postMessage: (id: string, body: PostMessageRequest) => request<Message>('POST', `/api/v1/conversations/${enc(id)}/messages`, body),
      assign: (id: string, to: { agent_id?: string; team_id?: string; team?: string; note?: string }) =>
        request<Conversation>('POST', `/api/v1/conversations/${enc(id)}/assign`, to),
      /** Routing decisions and other non-message events, oldest first. */
      events: async (id: string) => (await request<{ events: ConversationEvent[] | null }>('GET', `/api/v1/conversations/${enc(id)}/events`)).events ?? [],
      resolve: (id: string) => request<Conversation>('POST', `/api/v1/conversations/${enc(id)}/resolve`),
      read: (id: string, seq: number) => request<{ last_read_seq: number }>('POST', `/api/v1/conversations/${enc(id)}/read`, { seq }),
      /** A draft reply from the tenant's knowledge; nothing is sent. */
      suggest: (id: string) => request<Suggestion>('POST', `/api/v1/conversations/${enc(id)}/suggest`),
    },

    faqs: {
      list: (f: { q?: string; limit?: number; offset?: number } = {}) =>
        request<{ faqs: Faq[]; total: number }>('GET', '/api/v1/faqs', undefined, { q: f.q, limit: f.limit, offset: f.offset }),
      create: (body: FaqInput) => request<Faq>('POST', '/api/v1/faqs', body),
      update: (id: string, body: FaqInput) => request<Faq>('PUT', `/api/v1/faqs/${enc(id)}`, body),
      remove: (id: string) => request<void>('DELETE', `/api/v1/faqs/${enc(id)}`),
      match: (text: string, limit = 5) => request<FaqMatchResult>('POST', '/api/v1/faqs/match', { text, limit }),
      /** Imports a CSV or JSON file; a bad row fails the whole import with its line in error.fields. */
      import: async (file: Blob, format: 'csv' | 'json', mode: 'append' | 'replace' = 'append') => {
        const token = opts.getToken?.() ?? undefined;
        const headers: Record<string, string> = { 'Content-Type': format === 'csv' ? 'text/csv' : 'application/json', Accept: 'application/json' };
        if (token) headers.Authorization = `Bearer ${token}`;
        let res: Response;
        try {
          res = await doFetch(`${base}/api/v1/faqs/import?format=${format}&mode=${mode}`, { method: 'POST', headers, body: await file.text() });
        } catch (e) {
          throw new ApiError(0, NETWORK_ERROR, e instanceof Error && e.message ? e.message : 'network error');
        }
        const text = await res.text().catch(() => '');
        if (!res.ok) throw errorFromBody(res.status, res.statusText, text);
        return JSON.parse(text) as { imported: number; mode: string };
      },
      /** The export file's text. */
      export: async (format: 'csv' | 'json') => {
        const token = opts.getToken?.() ?? undefined;
        const res = await doFetch(`${base}/api/v1/faqs/export?format=${format}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
        const text = await res.text();
        if (!res.ok) throw errorFromBody(res.status, res.statusText, text);
        return text;
      },
    },

    articles: {
      list: async () => (await request<{ articles: Article[] }>('GET', '/api/v1/articles')).articles ?? [],
      get: (id: string) => request<Article>('GET', `/api/v1/articles/${enc(id)}`),
      create: (body: { title: string; body: string }) => request<Article>('POST', '/api/v1/articles', body),
      update: (id: string, body: { title: string; body: string }) => request<Article>('PUT', `/api/v1/articles/${enc(id)}`, body),
      remove: (id: string) => request<void>('DELETE', `/api/v1/articles/${enc(id)}`),
    },

    bots: {
      llm: () => request<LlmSettings>('GET', '/api/v1/bots/llm'),
      setLlm: (body: LlmInput) => request<LlmSettings>('PUT', '/api/v1/bots/llm', body),
      /** Tests the given settings (the stored key when api_key is absent), or the stored ones. */
      test: (body?: LlmInput) => request<LlmTestResult>('POST', '/api/v1/bots/llm/test', body),
      settings: () => request<BotSettings>('GET', '/api/v1/bots/settings'),
      setSettings: (body: BotSettings) => request<BotSettings>('PUT', '/api/v1/bots/settings', body),
    },

    search: (q: string, type: SearchType = 'messages', cursor?: string, limit?: number) => request<SearchPage>('GET', '/api/v1/search', undefined, { q, type, cursor, limit }),

    teams: {
      list: async () => (await request<{ teams: Team[] }>('GET', '/api/v1/teams')).teams ?? [],
      create: (body: { name: string; members?: string[] }) => request<Team>('POST', '/api/v1/teams', body),
      update: (id: string, body: { name?: string; members?: string[] }) => request<Team>('PUT', `/api/v1/teams/${enc(id)}`, body),
      remove: (id: string) => request<void>('DELETE', `/api/v1/teams/${enc(id)}`),
    },

    contacts: {
      get: (id: string) => request<ContactWithConversations>('GET', `/api/v1/contacts/${enc(id)}`),
      update: (id: string, body: ContactInput) => request<Contact>('PATCH', `/api/v1/contacts/${enc(id)}`, body),
    },

    cannedReplies: {
      list: async () => (await request<{ canned_replies: CannedReply[] }>('GET', '/api/v1/canned-replies')).canned_replies ?? [],
      create: (body: { shortcut: string; body: string; scope: CannedScope }) => request<CannedReply>('POST', '/api/v1/canned-replies', body),
      update: (id: string, body: { shortcut?: string; body?: string; scope?: CannedScope }) => request<CannedReply>('PUT', `/api/v1/canned-replies/${enc(id)}`, body),
      remove: (id: string) => request<void>('DELETE', `/api/v1/canned-replies/${enc(id)}`),
    },

    flows: {
      list: async () => (await request<{ flows: Flow[] }>('GET', '/api/v1/flows')).flows ?? [],
      /** The flow at a version; the latest when version is absent. */
      get: (id: string, version?: number) => request<Flow>('GET', `/api/v1/flows/${enc(id)}`, undefined, { version }),
      create: (body: SaveFlowRequest) => request<Flow>('POST', '/api/v1/flows', body),
      /** Saves a new draft version. */
      update: (id: string, body: SaveFlowRequest) => request<Flow>('PUT', `/api/v1/flows/${enc(id)}`, body),
      /** Publishes the latest version (or the one given), making the flow the tenant's active one. */
      publish: (id: string, version?: number) => request<Flow>('POST', `/api/v1/flows/${enc(id)}/publish`, version === undefined ? undefined : { version }),
      /** Publishes an earlier version again. */
      rollback: (id: string, version: number) => request<Flow>('POST', `/api/v1/flows/${enc(id)}/rollback`, { version }),
      versions: async (id: string) => (await request<{ versions: FlowVersion[] }>('GET', `/api/v1/flows/${enc(id)}/versions`)).versions ?? [],
      simulate: (id: string, body: SimulateRequest) => request<SimulateResponse>('POST', `/api/v1/flows/${enc(id)}/simulate`, body),
      replay: (id: string, body: { limit?: number; version?: number } = {}) => request<ReplayReport>('POST', `/api/v1/flows/${enc(id)}/replay`, body),
    },

    uploads: {
      /**
       * Uploads one file (multipart field "file") with the client's token
       * (a user's, an API key or a visitor's). Files over 10 MiB are refused
       * here, without a request, with the same too_large error the server's 413 maps to.
       */
      create: (file: Blob, name?: string) => {
        if (file.size > MAX_UPLOAD_BYTES) {
          return Promise.reject(new ApiError(413, 'too_large', `file is over ${MAX_UPLOAD_BYTES >> 20} MiB`));
        }
        const form = new FormData();
        form.append('file', file, name ?? (file as File).name ?? 'file');
        return request<Attachment>('POST', '/api/v1/uploads', form);
      },
    },

    widget: {
      config: (key: string) => request<WidgetConfig>('GET', '/api/v1/widget/config', undefined, { key }),
      session: (body: WidgetSessionRequest) => request<WidgetSession>('POST', '/api/v1/widget/sessions', body),
      /** The visitor's pre-chat answers (a client whose token is the visitor's). */
      prechat: (body: PrechatAnswers) => request<void>('POST', '/api/v1/widget/prechat', body),
      /** The offline form: the e-mail onto the contact, the message opens the conversation. */
      offline: (body: OfflineMessageRequest) => request<OfflineMessage>('POST', '/api/v1/widget/offline', body),
    },

    widgetSettings: {
      get: () => request<WidgetSettingsAdmin>('GET', '/api/v1/widget-settings'),
      put: (body: WidgetSettings & { allowed_origins?: string[] }) => request<WidgetSettingsAdmin>('PUT', '/api/v1/widget-settings', body),
      rotateSecret: () => request<{ identity_secret: string }>('POST', '/api/v1/widget-settings/identity-secret'),
    },

    businessHours: {
      get: () => request<BusinessHours>('GET', '/api/v1/business-hours'),
      put: (body: BusinessHoursInput) => request<BusinessHours>('PUT', '/api/v1/business-hours', body),
    },
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** Reads every message of a conversation, page by page (bounded). */
export async function fetchAllMessages(client: ApiClient, id: string, pageSize = 200, maxPages = 25): Promise<Message[]> {
  const out: Message[] = [];
  let after = 0;
  for (let i = 0; i < maxPages; i++) {
    const page = await client.conversations.messages(id, after, pageSize);
    out.push(...page);
    if (page.length < pageSize) break;
    after = page[page.length - 1]!.seq;
  }
  return out;
}
