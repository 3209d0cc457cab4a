import { lazy, Suspense, type ReactNode } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ConfigProvider } from 'antd';
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
const ApiKeysPage = lazy(() => import('./admin/ApiKeysPage'));
const WebhooksPage = lazy(() => import('./admin/WebhooksPage'));
const FlowsPage = lazy(() => import('./flows/FlowsPage'));
const FaqPage = lazy(() => import('./admin/FaqPage'));
const ArticlesPage = lazy(() => import('./admin/ArticlesPage'));
const BotsPage = lazy(() => import('./admin/BotsPage'));
// The editor (xyflow, dagre) is its own chunk, loaded only on /app/admin/flows/:id.
const FlowEditorPage = lazy(() => import('./flows/FlowEditorPage'));

export const FONT_STACK =
  '-apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif';

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

export function Providers({ children, client = queryClient }: { children: ReactNode; client?: QueryClient }) {
  const { i18n } = useTranslation();
  const zh = i18n.language === 'zh-CN';
  return (
    <QueryClientProvider client={client}>
      <ConfigProvider locale={zh ? zhCN : enUS} button={{ autoInsertSpace: false }} theme={{ token: { fontFamily: FONT_STACK, borderRadius: 8, colorPrimary: '#1677ff' } }}>
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
            <Route path="widget" element={<WidgetSettings />} />
            <Route path="agents" element={<AgentsPage />} />
            <Route path="api-keys" element={<ApiKeysPage />} />
            <Route path="webhooks" element={<WebhooksPage />} />
            <Route path="flows" element={<FlowsPage />} />
            <Route path="faq" element={<FaqPage />} />
            <Route path="articles" element={<ArticlesPage />} />
            <Route path="bots" element={<BotsPage />} />
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
