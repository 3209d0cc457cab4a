/** Team names by id, for node summaries on the canvas (filled by useTeamNames). */
export const teamNames = new Map<string, string>();
