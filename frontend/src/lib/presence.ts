import type { PresenceStatus } from '../api/types';

export const PRESENCE_COLOR: Record<PresenceStatus, string> = { online: '#52c41a', away: '#faad14', offline: '#bfbfbf' };
