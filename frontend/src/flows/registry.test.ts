import { describe, expect, it } from 'vitest';
import i18n from '../i18n';
import en from '../i18n/en';
import { nodeTypes } from './FlowNode';
import { branchLabel, isNodeType, NODE_TYPES, outputsOf, PALETTE_GROUPS, registry } from './registry';
import type { EditorNode, FlowNodeType } from './types';

// The node types and their outgoing branches as the server validates them
// (routing/flow.go); "" is the single unlabelled way on.
const SERVER: Record<FlowNodeType, string[]> = {
  start: [''],
  condition: ['true', 'false', 'error'],
  switch: ['default', 'error'], // plus one per case
  reply: [''],
  faq: ['answered', 'unanswered'],
  llm: ['answered', 'handoff'],
  business_hours: ['open', 'closed'],
  set: ['', 'error'],
  tag: [''],
  webhook: ['', 'error'],
  queue: ['timeout'],
  assign: ['assigned', 'timeout'],
  end: [],
};

describe('node registry', () => {
  it('has exactly the server’s node types', () => {
    expect([...NODE_TYPES].sort()).toEqual(Object.keys(SERVER).sort());
    expect(isNodeType('condition')).toBe(true);
    expect(isNodeType('toString')).toBe(false);
  });

  it('gives every type the server’s branches as its handles', () => {
    for (const type of NODE_TYPES) {
      const node = { type, data: registry[type].defaults() } as EditorNode;
      if (type === 'switch') continue;
      expect(outputsOf(node), type).toEqual(SERVER[type]);
    }
  });

  it('gives a switch one handle per case, then default and error', () => {
    const node = {
      type: 'switch',
      data: {
        cases: [
          { label: 'refund', expr: 'true' },
          { label: 'vip', expr: 'true' },
        ],
      },
    } as EditorNode;
    expect(outputsOf(node)).toEqual(['refund', 'vip', 'default', 'error']);
    expect(outputsOf({ type: 'switch', data: registry.switch.defaults() } as EditorNode)).toEqual(['case1', ...SERVER.switch]);
  });

  it('drives the canvas and the palette: one nodeTypes entry and one palette group per type', () => {
    expect(Object.keys(nodeTypes).sort()).toEqual([...NODE_TYPES].sort());
    for (const type of NODE_TYPES) {
      const spec = registry[type];
      expect(spec.type).toBe(type);
      expect(PALETTE_GROUPS).toContain(spec.group);
      expect(spec.color).toMatch(/^#[0-9a-f]{6}$/i);
      expect(typeof spec.Inspector).toBe('function');
      expect(spec.hasInput).toBe(type !== 'start');
    }
  });

  it('has a name and help in both languages for every type', async () => {
    const types = en.flows.types as Record<string, { label: string; help: string }>;
    for (const type of NODE_TYPES) {
      expect(types[type]?.label, type).toBeTruthy();
      expect(types[type]?.help, type).toBeTruthy();
    }
    await i18n.changeLanguage('zh-CN');
    expect(i18n.t(registry.condition.labelKey)).toBe('条件');
    expect(branchLabel(i18n.t, 'true')).toBe('是');
    expect(branchLabel(i18n.t, 'refund')).toBe('refund');
    await i18n.changeLanguage('en');
  });

  it('flags data the server would refuse, and accepts good data', () => {
    expect(registry.condition.validate({ expr: '' })).toEqual([{ key: 'exprRequired' }]);
    expect(registry.condition.validate({ expr: 'visitor.returning' })).toEqual([]);
    expect(registry.switch.validate({ cases: [{ label: 'default', expr: 'true' }] }).map((p) => p.key)).toEqual(['caseLabel']);
    expect(
      registry.switch
        .validate({
          cases: [
            { label: 'a', expr: 'true' },
            { label: 'a', expr: 'true' },
          ],
        })
        .map((p) => p.key),
    ).toEqual(['caseLabel']);
    expect(registry.assign.validate({ strategy: 'skills', team: '', skills: [], timeout_seconds: 0 }).map((p) => p.key)).toEqual(['skillsRequired']);
    expect(registry.assign.validate({ strategy: 'skills', team: '', skills: ['vip'], timeout_seconds: 0 })).toEqual([]);
    expect(registry.business_hours.validate({ timezone: 'UTC', schedule: { mon: [['18:00', '09:00']] }, holidays: ['2026-13-45'] }).map((p) => p.key)).toEqual([
      'spanInvalid',
      'holidayInvalid',
    ]);
    expect(registry.business_hours.validate({ timezone: 'UTC', schedule: { mon: [['00:00', '24:00']] }, holidays: ['2026-12-25'] })).toEqual([]);
    expect(registry.set.validate({ attribute: 'Plan', expr: '1' }).map((p) => p.key)).toEqual(['attributeInvalid']);
    expect(registry.webhook.validate({ url: 'ftp://x', timeout_ms: 0 }).map((p) => p.key)).toEqual(['urlInvalid']);
    expect(registry.queue.validate({ timeout_seconds: 90000 }).map((p) => p.key)).toEqual(['secondsRange']);
    expect(registry.reply.validate({ text: '  ' }).map((p) => p.key)).toEqual(['textRequired']);
  });
});
