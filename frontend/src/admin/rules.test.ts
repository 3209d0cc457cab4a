import { describe, expect, it } from 'vitest';
import { canManage, rolesGrantable } from './rules';

describe('user administration rules', () => {
  it('lets owners manage everyone and admins everyone but the owner', () => {
    expect(canManage('owner', 'owner')).toBe(true);
    expect(canManage('owner', 'admin')).toBe(true);
    expect(canManage('admin', 'owner')).toBe(false);
    expect(canManage('admin', 'admin')).toBe(true);
    expect(canManage('admin', 'agent')).toBe(true);
  });

  it('lets supervisors, agents and unknown callers manage nobody', () => {
    for (const me of ['supervisor', 'agent', 'developer', undefined] as const) {
      expect(canManage(me, 'agent')).toBe(false);
    }
  });

  it('never offers a role above the caller’s own', () => {
    expect(rolesGrantable('admin', ['agent', 'supervisor', 'admin'])).toEqual(['agent', 'supervisor', 'admin']);
    expect(rolesGrantable('supervisor', ['agent', 'supervisor', 'admin'])).toEqual(['agent', 'supervisor']);
    expect(rolesGrantable(undefined, ['agent', 'supervisor', 'admin'])).toEqual(['agent']);
  });
});
