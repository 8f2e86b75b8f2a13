/**
 * The MCP server of AgentMQ (`agentmq mcp`): the catalog's capabilities as MCP tools, each call
 * run as an AgentMQ task. Kept out of client/index.ts so that SDK users who do not serve MCP do
 * not load the MCP SDK.
 */
export { AgentMqMcpServer } from './mcp-server.js';
export {
  DEFAULT_MCP_CLOSE_TIMEOUT_MS,
  DEFAULT_MCP_QUERY_TOP_K,
  DEFAULT_MCP_READY_TIMEOUT_MS,
  DEFAULT_MCP_REFRESH_DEBOUNCE_MS,
  DEFAULT_MCP_WATCH_RETRY_MS,
  resolveMcpServerOptions,
} from './mcp-options.js';
export type { McpServerOptions, McpSupervisorOptions, ResolvedMcpServerOptions } from './mcp-options.js';
export { McpToolCatalog, MCP_LIVE_META_KEY } from './tool-catalog.js';
export { describeError, MAX_PROGRESS_MESSAGE_CHARS, MCP_TASK_META_KEYS, partsText, progressMessage, stateWord } from './call-result.js';
