import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ConfigProvider, theme as antdTheme } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { useTranslation } from 'react-i18next';
import { ApiError } from './api';
import { ErrorBoundary } from './components/ErrorBoundary';
import { FullPageSpin } from './components/FullPageSpin';
import { RequireAuth } from './components/RequireAuth';
import { ToastProvider } from './components/Toast';

const Landing = lazy(() => import('./pages/Landing'));
const Signup = lazy(() => import('./pages/Signup'));
const Login = lazy(() => import('./pages/Login'));
const NotFound = lazy(() => import('./pages/NotFound'));
const ConsoleShell = lazy(() => import('./console/ConsoleShell'));
const InboxPage = lazy(() => import('./console/InboxPage'));
const AdminLayout = lazy(() => import('./admin/AdminLayout'));
const WidgetSettings = lazy(() => import('./admin/WidgetSettings'));
const AgentsPage = lazy(() => import('./admin/AgentsPage'));
const RolesPage = lazy(() => import('./admin/RolesPage'));
// echarts comes with the reports page's chunk only.
const ReportsPage = lazy(() => import('./admin/ReportsPage'));
const AcceptInvite = lazy(() => import('./pages/AcceptInvite'));
const ForgotPassword = lazy(() => import('./pages/ForgotPassword'));
const ResetPassword = lazy(() => import('./pages/ResetPassword'));
const OnboardingPage = lazy(() => import('./admin/OnboardingCard'));
const TeamsPage = lazy(() => import('./admin/TeamsPage'));
const CannedRepliesPage = lazy(() => import('./admin/CannedRepliesPage'));
const ApiKeysPage = lazy(() => import('./admin/ApiKeysPage'));
const WebhooksPage = lazy(() => import('./admin/WebhooksPage'));
const AuditPage = lazy(() => import('./admin/AuditPage'));
const FlowsPage = lazy(() => import('./flows/FlowsPage'));
const FaqPage = lazy(() => import('./admin/FaqPage'));
const ArticlesPage = lazy(() => import('./admin/ArticlesPage'));
const BotsPage = lazy(() => import('./admin/BotsPage'));
const BusinessHoursPage = lazy(() => import('./admin/BusinessHoursPage'));
// The editor (xyflow, dagre) is its own chunk, loaded only on /app/admin/flows/:id.
const FlowEditorPage = lazy(() => import('./flows/FlowEditorPage'));

export const FONT_STACK = '-apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

export function createQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      },
      mutations: { retry: false },
    },
  });
}

const queryClient = createQueryClient();

/** Whether the system asks for dark colours, followed live. */
export function useDarkMode(): boolean {
  const query = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  const [dark, setDark] = useState(() => !!query?.matches);
  useEffect(() => {
    if (!query) return;
    const on = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener?.('change', on);
    return () => query.removeEventListener?.('change', on);
  }, [query]);
  return dark;
}

export function Providers({ children, client = queryClient }: { children: ReactNode; client?: QueryClient }) {
  const { i18n } = useTranslation();
  const zh = i18n.language === 'zh-CN';
  const dark = useDarkMode();
  // The brand blue is antd's blue-7 on white (6.3:1, WCAG AA); dark mode derives its own from antd's blue.
  const theme = {
    algorithm: dark ? antdTheme.darkAlgorithm : antdTheme.defaultAlgorithm,
    token: { fontFamily: FONT_STACK, borderRadius: 8, colorPrimary: dark ? '#1677ff' : '#0958d9', colorTextDescription: dark ? undefined : '#666666' },
  };
  return (
    <QueryClientProvider client={client}>
      <ConfigProvider locale={zh ? zhCN : enUS} button={{ autoInsertSpace: false }} theme={theme}>
        <ToastProvider>{children}</ToastProvider>
      </ConfigProvider>
    </QueryClientProvider>
  );
}

/** The routes of ui.md; every page is its own lazy chunk. */
export function AppRoutes() {
  return (
    <Suspense fallback={<FullPageSpin />}>
      <Routes>
        <Route path="/" element={<Landing />} />
        <Route path="/signup" element={<Signup />} />
        <Route path="/login" element={<Login />} />
        <Route path="/invite" element={<AcceptInvite />} />
        <Route path="/forgot" element={<ForgotPassword />} />
        <Route path="/reset" element={<ResetPassword />} />
        <Route
          path="/app"
          element={
            <RequireAuth>
              <ConsoleShell />
            </RequireAuth>
          }
        >
          <Route index element={<InboxPage />} />
          <Route path="conversations/:id" element={<InboxPage />} />
          <Route path="admin" element={<AdminLayout />}>
            <Route index element={<Navigate to="widget" replace />} />
            <Route path="onboarding" element={<OnboardingPage />} />
            <Route path="widget" element={<WidgetSettings />} />
            <Route path="agents" element={<AgentsPage />} />
            <Route path="reports" element={<ReportsPage />} />
            <Route path="roles" element={<RolesPage />} />
            <Route path="teams" element={<TeamsPage />} />
            <Route path="canned-replies" element={<CannedRepliesPage />} />
            <Route path="api-keys" element={<ApiKeysPage />} />
            <Route path="webhooks" element={<WebhooksPage />} />
            <Route path="audit" element={<AuditPage />} />
            <Route path="flows" element={<FlowsPage />} />
            <Route path="faq" element={<FaqPage />} />
            <Route path="articles" element={<ArticlesPage />} />
            <Route path="bots" element={<BotsPage />} />
            <Route path="business-hours" element={<BusinessHoursPage />} />
          </Route>
          {/* Full width, beside the settings menu rather than inside it. */}
          <Route path="admin/flows/:id" element={<FlowEditorPage />} />
        </Route>
        <Route path="*" element={<NotFound />} />
      </Routes>
    </Suspense>
  );
}

export function App() {
  return (
    <Providers>
      <ErrorBoundary>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </ErrorBoundary>
    </Providers>
  );
}
