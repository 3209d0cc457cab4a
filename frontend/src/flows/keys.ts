// react-query keys of the flow pages.
export const flowKeys = {
  list: ['flows'] as const,
  flow: (id: string, version?: number) => ['flow', id, version ?? 'latest'] as const,
  versions: (id: string) => ['flow-versions', id] as const,
};
