import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import i18n from '../i18n';
import Login from './Login';
import { jsonResponse, renderWithApp } from '../test/render';
import { useAuth } from '../stores/auth';

function page(route = '/login') {
  return renderWithApp(
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route path="/app" element={<div>console here</div>} />
    </Routes>,
    { route },
  );
}

async function fill(email: string, password: string, tenant = '') {
  // fireEvent.change instead of typing key by key: antd re-renders the form on
  // every keystroke, which makes typed input slow under a busy CI machine.
  if (tenant) fireEvent.change(screen.getByTestId('login-tenant'), { target: { value: tenant } });
  if (email) fireEvent.change(screen.getByTestId('login-email'), { target: { value: email } });
  if (password) fireEvent.change(screen.getByTestId('login-password'), { target: { value: password } });
  await userEvent.setup({ delay: null }).click(screen.getByTestId('login-submit'));
}

/** A fake server: GET /config answers emailEnabled; POST /auth/login answers login(body). */
function server(login: (body: Record<string, string>) => Response, emailEnabled = false) {
  const fetch = vi.fn(async (url: string, init?: RequestInit) => {
    if (String(url).endsWith('/api/v1/config')) return jsonResponse(200, { email_enabled: emailEnabled });
    return login(JSON.parse(String(init?.body ?? '{}')) as Record<string, string>);
  });
  vi.stubGlobal('fetch', fetch);
  return {
    logins: () => (fetch.mock.calls as unknown as [string, RequestInit][]).filter(([u]) => String(u).endsWith('/auth/login')).map(([, i]) => JSON.parse(String(i.body))),
  };
}

const user = { id: 'u1', email: 'ann@acme.io', name: 'Ann', role: 'owner' };

describe('Login page', () => {
  beforeEach(async () => {
    await i18n.changeLanguage('en');
    useAuth.getState().signOut();
  });
  afterEach(() => vi.unstubAllGlobals());

  it('asks only e-mail and password, and validates them before calling the server', async () => {
    const s = server(() => jsonResponse(500));
    page();
    expect(screen.queryByTestId('login-tenant')).toBeNull();
    await fill('', '');
    expect(await screen.findAllByText('Required')).toHaveLength(2);
    expect(s.logins()).toHaveLength(0);
  });

  it('shows the server message for a wrong password', async () => {
    server(() => jsonResponse(401, { error: { code: 'unauthenticated', message: 'Wrong email or password' } }));
    page();
    await fill('ann@acme.io', 'secret123');
    expect(await screen.findByTestId('form-error')).toHaveProperty('textContent', expect.stringContaining('Wrong email or password'));
    expect(useAuth.getState().token).toBeNull();
  });

  it('puts per-field errors on the form items', async () => {
    server(() => jsonResponse(400, { error: { code: 'invalid_argument', message: 'invalid', fields: { email: 'is too long' } } }));
    page();
    await fill('ann@acme.io', 'secret123');
    expect(await screen.findByText('is too long')).toBeTruthy();
    expect(screen.queryByTestId('form-error')).toBeNull();
  });

  it('signs in by e-mail alone, stores the token and opens the console', async () => {
    const s = server(() => jsonResponse(200, { token: 'tok-1', user }));
    page();
    await fill('ann@acme.io', 'secret123');
    await waitFor(() => expect(screen.getByText('console here')).toBeTruthy());
    expect(useAuth.getState().token).toBe('tok-1');
    expect(localStorage.getItem('kefu:token')).toBe('tok-1');
    expect(s.logins()).toEqual([{ email: 'ann@acme.io', password: 'secret123' }]);
  });

  it('lists the workspaces whose password matched, and signs in to the one chosen', async () => {
    const s = server((b) =>
      b.tenant
        ? jsonResponse(200, { token: 'tok-' + b.tenant, user })
        : jsonResponse(200, {
            workspaces: [
              { id: 't1', slug: 'acme', name: 'Acme Ltd' },
              { id: 't2', slug: 'beta', name: 'Beta Shop' },
            ],
          }),
    );
    page();
    await fill('ann@acme.io', 'secret123');
    expect(await screen.findByText('Beta Shop')).toBeTruthy();
    expect(screen.getByText('Acme Ltd')).toBeTruthy();
    await userEvent.setup({ delay: null }).click(screen.getAllByTestId('workspace-choice')[1]!);
    await waitFor(() => expect(screen.getByText('console here')).toBeTruthy());
    expect(useAuth.getState().token).toBe('tok-beta');
    expect(s.logins()[1]).toEqual({ tenant: 'beta', email: 'ann@acme.io', password: 'secret123' });
  });

  it('still takes a workspace from an old link', async () => {
    const s = server(() => jsonResponse(200, { token: 'tok-2', user }));
    page('/login?workspace=acme');
    expect((screen.getByTestId('login-tenant') as HTMLInputElement).value).toBe('acme');
    await fill('ann@acme.io', 'secret123');
    await waitFor(() => expect(screen.getByText('console here')).toBeTruthy());
    expect(s.logins()).toEqual([{ tenant: 'acme', email: 'ann@acme.io', password: 'secret123' }]);
  });

  it('offers a password reset only when the server sends e-mail', async () => {
    server(() => jsonResponse(500), false);
    const first = page();
    await waitFor(() => expect(screen.getByTestId('login-use-workspace')).toBeTruthy());
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByTestId('login-forgot')).toBeNull();
    first.unmount();
    server(() => jsonResponse(500), true);
    page();
    expect(await screen.findByTestId('login-forgot')).toBeTruthy();
  });

  it('is translated into Chinese', async () => {
    server(() => jsonResponse(500));
    await i18n.changeLanguage('zh-CN');
    page();
    expect(screen.getByText('登录 Kefu')).toBeTruthy();
    expect(screen.getByText('登录指定的工作区')).toBeTruthy();
    await i18n.changeLanguage('en');
  });
});
