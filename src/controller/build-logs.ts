/** Live build log lines travel on the bus on this channel; `{ done: true }` ends a build's stream. */
export const buildLogChannel = (buildId: string) => `build-log:${buildId}`;

export type BuildLogMessage = { line: string; at: string } | { done: true };
