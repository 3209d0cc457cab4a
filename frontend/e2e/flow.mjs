// The flow editor's browser test against a running Kefu server: an owner
// builds a routing flow by dragging nodes from the palette and connecting
// handles, sees the server reject a bad expression on the node, fixes it,
// simulates a "pro" visitor, publishes, and real widget visitors are then
// routed by it (pro → the agent with the vip skill, free → the queue);
// versions, rollback and replay close it. Run by `npm run e2e:flow`.
//
//   KEFU_URL=http://127.0.0.1:18090 npm run e2e:flow
//   KEFU_SCREENSHOTS=dir    where screenshots go (default tmp/screenshots)
//   CHROMIUM=/path          browser binary (default /usr/bin/chromium)
import { check, journey, rand, visitorsWrite } from './lib.mjs';

// A taller desktop: the canvas, palette and inspector side by side.
const { BASE, SHOTS, step, rest: restAs, until, shoot: shootAt, launch, context, open, watch, cleanPages, finish } = journey('flow', { desktop: { width: 1280, height: 900 } });
const owner = { company: `Flow Tea ${rand}`, name: 'Olga Owner', email: `olga+${rand}@example.com`, password: `owner-pass-${rand}` };
const val = { name: 'Vip Val', email: `val+${rand}@example.com`, password: `val-pass-${rand}`, role: 'agent', skills: ['vip'], max_concurrent: 5 };
const BAD_EXPR = 'visitor.plan ==';
const GOOD_EXPR = 'visitor.attributes.plan == "pro"';
const state = { token: '', slug: '', key: '', valId: '', flowId: '', proConv: '', freeConv: '' };

/** The REST API from Node, as the owner unless another token is given. */
const rest = (method, path, body, token = state.token) => restAs(method, path, body, token);
/** Screenshots that let layout and transitions settle a little longer. */
const shoot = async (page, name) => {
  await shootAt(page, name, { settle: 300 });
  await page.waitForTimeout(200);
};

const center = (b) => ({ x: b.x + b.width / 2, y: b.y + b.height / 2 });

/** Drags from one handle to another with the mouse, as a person connects nodes. */
async function connect(page, from, to) {
  const a = await page.locator(from).boundingBox();
  const b = await page.locator(to).boundingBox();
  check(a && b, `handles not found: ${from} → ${to}`);
  const p = center(a);
  const q = center(b);
  await page.mouse.move(p.x, p.y);
  await page.mouse.down();
  await page.mouse.move((p.x + q.x) / 2, (p.y + q.y) / 2, { steps: 8 });
  await page.mouse.move(q.x, q.y, { steps: 8 });
  await page.mouse.up();
}

const node = (id) => `[data-testid="flow-node"][data-id="${id}"]`;
const source = (id, label) => `${node(id)} .react-flow__handle.source[data-handleid="out:${label}"]`;
const target = (id) => `${node(id)} .react-flow__handle.target`;

/** A visitor on `plan` writes `text` through the public widget API (a new session, then the socket). */
const visitorWrites = async (page, plan, text) => (await visitorsWrite(page, [{ key: state.key, visitor: { name: `Visitor ${plan}`, attributes: { plan } }, body: text }]))[0];

const browser = await launch();

try {
  console.log(`flow against ${BASE} (screenshots in ${SHOTS})`);

  await step('a business signs up and adds Vip Val with the vip skill (API)', async () => {
    const signup = await rest('POST', '/api/v1/signup', owner, null);
    state.token = signup.token;
    state.slug = signup.tenant.slug;
    state.key = signup.tenant.widget_key;
    check(state.token && state.key, 'signup gave no token or widget key');
    const agent = await rest('POST', '/api/v1/agents', val);
    state.valId = agent.id;
    check(agent.skills.includes('vip'), `Val's skills are ${JSON.stringify(agent.skills)}`);
  });

  let ownerCtx;
  await step('the owner and Val open the console and are online', async () => {
    const login = await rest('POST', '/api/v1/auth/login', { tenant: state.slug, email: val.email, password: val.password }, null);
    // One browser context per person, signed in by putting their token where the console keeps it.
    ownerCtx = await context({ token: state.token });
    const valCtx = await context({ token: login.token });
    for (const [who, ctx] of [
      ['owner-console', ownerCtx],
      ['val-console', valCtx],
    ]) {
      const p = watch(who, await ctx.newPage());
      await p.goto(`${BASE}/app`);
      await p.locator('[data-testid="presence-switch"][data-status="online"]').waitFor();
    }
    await until('both agents online', async () => {
      const { agents } = await rest('GET', '/api/v1/agents');
      return agents.filter((a) => a.status === 'online').length >= 2;
    });
  });

  await step('Flows lists the Default flow, published and live', async () => {
    const editor = (state.editor = watch('editor', await ownerCtx.newPage()));
    await editor.goto(`${BASE}/app/admin/widget`);
    await editor.getByTestId('admin-flows').click();
    await editor.waitForURL(/\/app\/admin\/flows$/);
    const row = editor.locator('[data-testid="flow-row"][data-id="default"]');
    await row.waitFor();
    check((await row.textContent()).includes('Published'), 'the Default flow is not shown as published');
    await shoot(editor, 'flows-list');
  });

  await step('New flow opens the editor with a start → queue skeleton', async () => {
    const editor = state.editor;
    await editor.getByTestId('new-flow').click();
    await editor.waitForURL(/\/app\/admin\/flows\/new$/);
    await editor.locator(node('start')).waitFor();
    await editor.locator(node('queue')).waitFor();
    await editor.getByTestId('flow-name').fill(`VIP routing ${rand}`);
  });

  await step('Delete removes the selected skeleton queue (start stays)', async () => {
    const editor = state.editor;
    await editor.locator(node('queue')).click();
    await editor.locator('[data-testid="inspector-node"][data-id="queue"]').waitFor();
    await editor.keyboard.press('Delete');
    await editor.locator(node('queue')).waitFor({ state: 'detached' });
    await editor.locator(node('start')).click();
    await editor.keyboard.press('Delete');
    await editor.waitForTimeout(100);
    check((await editor.locator(node('start')).count()) === 1, 'start was deleted');
    check((await editor.locator('.react-flow__edge').count()) === 0, 'the skeleton edge is still there');
  });

  await step('drag a condition, an assign and a queue node from the palette onto the canvas', async () => {
    const editor = state.editor;
    const canvas = await editor.getByTestId('flow-canvas').boundingBox();
    const start = await editor.locator(node('start')).boundingBox();
    const below = start.y + start.height - canvas.y;
    const drops = [
      ['condition', 'condition_1', canvas.width * 0.5, below + 90],
      ['assign', 'assign_1', canvas.width * 0.22, below + 250],
      ['queue', 'queue_1', canvas.width * 0.78, below + 250],
    ];
    for (const [type, id, x, y] of drops) {
      await editor.getByTestId(`palette-${type}`).dragTo(editor.getByTestId('flow-canvas'), { targetPosition: { x, y } });
      await editor.locator(node(id)).waitFor();
      await editor.locator(`[data-testid="inspector-node"][data-id="${id}"]`).waitFor();
      if (type === 'condition') await editor.locator('#condition_1-expr').fill(BAD_EXPR);
      if (type === 'assign') {
        await editor.getByTestId('strategy-skills').click();
        const skills = editor.locator('#assign_1-skills');
        await skills.click();
        await skills.fill('vip');
        await skills.press('Enter');
        await editor.keyboard.press('Escape');
        await editor.locator('[data-testid="inspector-node"] .ant-select-selection-item', { hasText: 'vip' }).first().waitFor();
      }
    }
    check((await editor.locator('[data-testid="flow-node"]').count()) === 4, 'expected four nodes on the canvas');
  });

  await step('connect start → condition, condition true → assign, false → queue by dragging handles', async () => {
    const editor = state.editor;
    await connect(editor, source('start', ''), target('condition_1'));
    await connect(editor, source('condition_1', 'true'), target('assign_1'));
    await connect(editor, source('condition_1', 'false'), target('queue_1'));
    await until('three edges', async () => (await editor.locator('.react-flow__edge').count()) === 3, 5000);
    const labels = await editor.locator('.react-flow__edge-text').allTextContents();
    check(labels.includes('true') && labels.includes('false'), `edge labels are ${JSON.stringify(labels)}`);
  });

  await step('auto-layout puts the flow top to bottom; undo and redo keep the edges', async () => {
    const editor = state.editor;
    await editor.getByTestId('auto-layout').click();
    await editor.waitForTimeout(400);
    const y = async (id) => (await editor.locator(node(id)).boundingBox()).y;
    check((await y('start')) < (await y('condition_1')) && (await y('condition_1')) < (await y('assign_1')), 'auto-layout is not top to bottom');
    await editor.getByTestId('undo').click();
    await editor.getByTestId('redo').click();
    check((await editor.locator('.react-flow__edge').count()) === 3, 'undo/redo lost an edge');
  });

  await step('Save with a broken expression: the server’s error shows on the condition node', async () => {
    const editor = state.editor;
    await editor.getByTestId('save-flow').click();
    const err = editor.locator(`${node('condition_1')} [data-testid="node-error"]`);
    await err.waitFor();
    check((await err.textContent()).toLowerCase().includes('expression'), `node error is ${JSON.stringify(await err.textContent())}`);
    check((await editor.locator(node('condition_1')).getAttribute('data-error')) === 'true', 'the node is not marked');
    await editor.locator('[data-testid="inspector-error"]').waitFor();
    await editor.getByTestId('flow-errors').waitFor();
    check(/\/flows\/new$/.test(editor.url()), 'a rejected flow left the new-flow page');
    await shoot(editor, 'flow-editor-error');
  });

  await step('fix the expression and Save: the flow is saved as version 1', async () => {
    const editor = state.editor;
    await editor.locator(node('condition_1')).click();
    await editor.locator('#condition_1-expr').fill(GOOD_EXPR);
    await editor.locator(`${node('condition_1')} [data-testid="node-error"]`).waitFor({ state: 'detached' });
    await editor.getByTestId('save-flow').click();
    await editor.waitForURL(/\/app\/admin\/flows\/(?!new)[^/?]+$/);
    state.flowId = decodeURIComponent(editor.url().split('/').pop());
    await editor.locator('[data-testid="flow-version"]', { hasText: 'v1' }).waitFor();
    await editor.locator('[data-testid="flow-editor"][data-dirty="false"]').waitFor();
    check((await editor.locator('[data-testid="node-error"]').count()) === 0, 'an error is still shown');
  });

  await step('Simulate a "pro" visitor: the trace reaches the assign node and the path is highlighted', async () => {
    const editor = state.editor;
    await editor.getByTestId('simulate-toggle').click();
    await editor.getByTestId('simulate-event').waitFor();
    await editor.getByTestId('simulate-attributes').fill('{"plan":"pro"}');
    await editor.getByTestId('simulate-run').click();
    await editor.locator('[data-testid="trace-step"][data-node="assign_1"]').waitFor();
    const action = editor.getByTestId('simulate-action');
    check((await action.getAttribute('data-action')) === 'assign', `simulated action is ${await action.getAttribute('data-action')}`);
    check((await action.textContent()).includes('Vip Val'), `simulated result is ${JSON.stringify(await action.textContent())}`);
    for (const id of ['start', 'condition_1', 'assign_1']) check((await editor.locator(node(id)).getAttribute('data-traced')) === 'true', `${id} is not highlighted`);
    check((await editor.locator(node('queue_1')).getAttribute('data-traced')) === null, 'queue_1 is highlighted but was not walked');
    check((await editor.locator('.react-flow__edge.is-traced').count()) === 2, 'the two walked edges are not highlighted');
    await shoot(editor, 'flow-editor-simulate');
  });

  await step('Publish: the flow is published and live', async () => {
    const editor = state.editor;
    await editor.getByTestId('publish-flow').click();
    await editor.getByTestId('publish-confirm').click();
    await editor.locator('[data-testid="flow-status"][data-status="published"]').waitFor();
    await editor.getByTestId('flow-active').waitFor();
    const { flows } = await rest('GET', '/api/v1/flows');
    const mine = flows.find((f) => f.id === state.flowId);
    check(mine?.active && mine.published_version === 1, `the flow is ${JSON.stringify(mine && { active: mine.active, published_version: mine.published_version })}`);
  });

  let visitorPage;
  await step('a "pro" widget visitor is assigned to Vip Val', async () => {
    visitorPage = await open('visitor');
    // A page of the app (the demo shop, no key: no widget), whose policy lets it call the API.
    await visitorPage.goto(`${BASE}/demo`);
    state.proConv = await visitorWrites(visitorPage, 'pro', 'I need help with my pro plan');
    const conv = await until('the pro conversation assigned', async () => {
      const c = await rest('GET', `/api/v1/conversations/${encodeURIComponent(state.proConv)}`);
      return c.status === 'assigned' ? c : null;
    });
    check(conv.assignee_id === state.valId, `assigned to ${conv.assignee_id}, not Val (${state.valId})`);
  });

  await step('a "free" widget visitor waits in the queue', async () => {
    state.freeConv = await visitorWrites(visitorPage, 'free', 'Hello, question about pricing');
    const conv = await until('the free conversation queued', async () => {
      const c = await rest('GET', `/api/v1/conversations/${encodeURIComponent(state.freeConv)}`);
      return c.status === 'queued' ? c : c.status === 'assigned' ? c : null;
    });
    check(conv.status === 'queued' && !conv.assignee_id, `the free conversation is ${conv.status} (assignee ${conv.assignee_id})`);
  });

  await step('a second version is saved and published; Versions lists both', async () => {
    const editor = state.editor;
    await editor.locator(node('queue_1')).click();
    await editor.locator('#queue_1-timeout').fill('600');
    await editor.locator('#queue_1-timeout').press('Tab');
    await editor.locator('[data-testid="flow-editor"][data-dirty="true"]').waitFor();
    await editor.getByTestId('save-flow').click();
    await editor.locator('[data-testid="flow-version"]', { hasText: 'v2' }).waitFor();
    await editor.getByTestId('publish-flow').click();
    await editor.getByTestId('publish-confirm').click();
    await editor.locator('[data-testid="flow-status"][data-status="published"]').waitFor();
    await editor.getByTestId('open-versions').click();
    await editor.locator('[data-testid="version-item"][data-version="2"]').waitFor();
    await editor.locator('[data-testid="version-item"][data-version="1"]').waitFor();
    check((await editor.locator('[data-testid="version-item"]').count()) === 2, 'the drawer does not list exactly two versions');
    await shoot(editor, 'flow-versions');
  });

  await step('view version 1 read-only, then roll back to it', async () => {
    const editor = state.editor;
    await editor.locator('[data-testid="version-item"][data-version="1"] [data-testid="version-view"]').click();
    await editor.getByTestId('readonly-banner').waitFor();
    await editor.locator('[data-testid="flow-version"]', { hasText: 'v1' }).waitFor();
    check(await editor.getByTestId('save-flow').isDisabled(), 'save is enabled on a read-only version');
    await editor.getByTestId('back-to-latest').click();
    await editor.locator('[data-testid="flow-version"]', { hasText: 'v2' }).waitFor();
    await editor.getByTestId('open-versions').click();
    await editor.locator('[data-testid="version-item"][data-version="1"] [data-testid="version-rollback"]').click();
    await editor.getByTestId('rollback-confirm').click();
    await editor.locator('[data-testid="version-item"][data-version="1"]', { hasText: 'Live' }).waitFor();
    const flow = await rest('GET', `/api/v1/flows/${encodeURIComponent(state.flowId)}`);
    check(flow.published_version === 1 && flow.active, `after rollback published_version is ${flow.published_version}`);
    await editor.locator('[data-testid="flow-status"][data-status="draft"]').waitFor();
    await editor.locator('.ant-drawer-open .ant-drawer-close').click();
    await editor.locator('.ant-drawer-open').waitFor({ state: 'detached' });
  });

  await step('Replay reports how recent conversations would be routed', async () => {
    const editor = state.editor;
    await editor.getByTestId('replay').click();
    const summary = editor.getByTestId('replay-summary');
    await summary.waitFor();
    check(/conversations/.test(await summary.textContent()), `replay says ${JSON.stringify(await summary.textContent())}`);
    await shoot(editor, 'flow-replay');
    await editor.locator('.ant-modal-close').click();
    await editor.getByTestId('replay-report').waitFor({ state: 'detached' });
  });

  await step('the editor in Chinese', async () => {
    const editor = state.editor;
    await editor.getByTestId('language-switch').click();
    await editor.getByTestId('lang-zh-CN').click();
    await editor.getByTestId('save-flow').getByText('保存草稿').waitFor();
    await editor.locator(node('condition_1')).click();
    await shoot(editor, 'flow-editor-zh');
    await editor.getByTestId('language-switch').click();
    await editor.getByTestId('lang-en').click();
    await editor.getByTestId('save-flow').getByText('Save draft').waitFor();
  });

  await cleanPages(' in any page');
} finally {
  await browser.close();
}

finish();
