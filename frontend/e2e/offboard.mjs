// Offboarding in the browser, against a running Kefu server: an agent has
// the console open; the owner deactivates them on the Agents page, and the
// agent's console is sent to the login page at once (no reconnect loop) and
// cannot log in; the owner reactivates them; the agent changes their
// password and signs out everywhere from the user menu. Run by
// `npm run e2e:offboard` with KEFU_URL set (the Makefile's test-browser does).
//
//   KEFU_URL=http://127.0.0.1:18089 npm run e2e:offboard
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { check, journey, rand } from './lib.mjs';

const { BASE, SHOTS, step, rest, shoot, login, launch, context, watch, cleanPages, finish } = journey('offboard');
const owner = { company: `Offboard Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };
const agentUser = { name: 'Ben Agent', email: `ben+${rand}@example.com`, password: `agent-pass-${rand}`, next: `agent-new-${rand}` };

const browser = await launch();

try {
  const admin = watch('owner', await (await context()).newPage());
  const agent = watch('agent', await (await context()).newPage());
  const sockets = [];
  agent.on('websocket', (ws) => sockets.push(ws));
  console.log(`offboard against ${BASE} (screenshots in ${SHOTS})`);

  let slug = '';
  await step('a business with one agent', async () => {
    const su = await rest('POST', '/api/v1/signup', owner);
    slug = su.tenant.slug;
    await rest('POST', '/api/v1/agents', { email: agentUser.email, name: agentUser.name, password: agentUser.password, role: 'agent' }, su.token);
  });

  await step('the agent has the console open', async () => {
    await login(agent, slug, agentUser, agentUser.password);
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('inbox').waitFor();
    await agent.locator('[data-testid="presence-switch"][data-status="online"]').waitFor();
  });

  await step('the owner sees actions for the agent, and none for themselves beyond edit', async () => {
    await login(admin, slug, owner, owner.password);
    await admin.waitForURL(/\/app/);
    await admin.goto(`${BASE}/app/admin/agents`);
    const row = admin.getByTestId(`agent-actions-${agentUser.email}`);
    await row.getByTestId('agent-deactivate').waitFor();
    const mine = admin.getByTestId(`agent-actions-${owner.email}`);
    await mine.getByTestId('agent-edit').waitFor();
    check((await mine.getByTestId('agent-deactivate').count()) === 0, 'the owner is offered to deactivate themselves');
    await shoot(admin, 'agents-actions');
  });

  await step('the owner deactivates the agent, and the agent console goes to the login page', async () => {
    const socketsBefore = sockets.length;
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-deactivate').click();
    await admin.getByTestId('agent-deactivate-confirm').click();
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-reactivate').waitFor();
    await admin.getByTestId('agent-inactive').waitFor();
    await agent.waitForURL(/\/login/, { timeout: 5000 });
    const notice = agent.getByTestId('session-ended');
    await notice.waitFor();
    check(/deactivated/i.test((await notice.textContent()) ?? ''), `the login page says ${JSON.stringify(await notice.textContent())}`);
    await agent.waitForTimeout(2500); // long enough for a reconnect attempt or two
    check(sockets.length === socketsBefore, `the console opened ${sockets.length - socketsBefore} new sockets after it was deactivated`);
    await shoot(agent, 'login-deactivated');
  });

  await step('the deactivated agent cannot log in', async () => {
    await login(agent, slug, agentUser, agentUser.password);
    await agent.getByTestId('form-error').waitFor();
    check(/\/login/.test(agent.url()), 'a deactivated agent got past the login page');
  });

  await step('the owner reactivates the agent, who logs in again', async () => {
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-reactivate').click();
    await admin.getByTestId('agent-reactivate-confirm').click();
    await admin.getByTestId(`agent-actions-${agentUser.email}`).getByTestId('agent-deactivate').waitFor();
    await login(agent, slug, agentUser, agentUser.password);
    await agent.waitForURL(/\/app/);
    await agent.getByTestId('inbox').waitFor();
  });

  await step('the agent changes their password from the user menu', async () => {
    await agent.getByTestId('presence-switch').click();
    await agent.getByTestId('menu-change-password').click();
    await agent.getByTestId('current-password').fill(agentUser.password);
    await agent.getByTestId('new-password').fill(agentUser.next);
    await shoot(agent, 'change-password');
    await agent.getByTestId('change-password-submit').click();
    await agent.getByTestId('change-password-form').waitFor({ state: 'detached' });
    await agent.getByTestId('inbox').waitFor(); // still signed in
    await rest('POST', '/api/v1/auth/login', { tenant: slug, email: agentUser.email, password: agentUser.next });
  });

  await step('the agent signs out everywhere', async () => {
    await agent.getByTestId('presence-switch').click();
    await agent.getByTestId('menu-logout-all').click();
    await agent.getByTestId('logout-all-confirm').click();
    await agent.waitForURL(/\/login/);
  });

  await cleanPages(' in either page');
} finally {
  await browser.close();
}

finish();
