import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import i18n from '../i18n';
import Login from './Login';
import { jsonResponse, renderWithApp } from '../test/render';
import { useAuth } from '../stores/auth';

function page() {
  return renderWithApp(
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route path="/app" element={<div>console here</div>} />
    </Routes>,
    { route: '/login' },
  );
}

async function fill(tenant: string, email: string, password: string) {
  // fireEvent.change instead of typing key by key: antd re-renders the form on
  // every keystroke, which makes typed input slow under a busy CI machine.
  if (tenant) fireEvent.change(screen.getByTestId('login-tenant'), { target: { value: tenant } });
  if (email) fireEvent.change(screen.getByTestId('login-email'), { target: { value: email } });
  if (password) fireEvent.change(screen.getByTestId('login-password'), { target: { value: password } });
  await userEvent.setup({ delay: null }).click(screen.getByTestId('login-submit'));
}

describe('Login page', () => {
  beforeEach(async () => {
    await i18n.changeLanguage('en');
    useAuth.getState().signOut();
  });
  afterEach(() => vi.unstubAllGlobals());

  it('validates required fields before calling the server', async () => {
    const fetch = vi.fn();
    vi.stubGlobal('fetch', fetch);
    page();
    await fill('', '', '');
    expect(await screen.findAllByText('Required')).toHaveLength(3);
    expect(fetch).not.toHaveBeenCalled();
  });

  it('shows the server message for a wrong password', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => jsonResponse(401, { error: { code: 'unauthenticated', message: 'Wrong email or password' } })));
    page();
    await fill('acme', 'ann@acme.io', 'secret123');
    expect(await screen.findByTestId('form-error')).toHaveProperty('textContent', expect.stringContaining('Wrong email or password'));
    expect(useAuth.getState().token).toBeNull();
  });

  it('puts per-field errors on the form items', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => jsonResponse(400, { error: { code: 'invalid_argument', message: 'invalid', fields: { tenant: 'no such workspace' } } })),
    );
    page();
    await fill('nope', 'ann@acme.io', 'secret123');
    expect(await screen.findByText('no such workspace')).toBeTruthy();
    expect(screen.queryByTestId('form-error')).toBeNull();
  });

  it('stores the token and opens the console', async () => {
    const fetch = vi.fn(async () => jsonResponse(200, { token: 'tok-1', user: { id: 'u1', email: 'ann@acme.io', name: 'Ann', role: 'owner' } }));
    vi.stubGlobal('fetch', fetch);
    page();
    await fill(' Acme ', 'ann@acme.io', 'secret123');
    await waitFor(() => expect(screen.getByText('console here')).toBeTruthy());
    expect(useAuth.getState().token).toBe('tok-1');
    expect(localStorage.getItem('kefu:token')).toBe('tok-1');
    const calls = fetch.mock.calls as unknown as [string, RequestInit][];
    expect(JSON.parse(String(calls[0]![1].body))).toEqual({ tenant: 'acme', email: 'ann@acme.io', password: 'secret123' });
  });

  it('is translated into Chinese', async () => {
    await i18n.changeLanguage('zh-CN');
    page();
    expect(screen.getByText('登录 Kefu')).toBeTruthy();
    await i18n.changeLanguage('en');
  });
});
