/**
 * `agentmq mcp`: an MCP server on stdin/stdout (client/mcp/). stdout carries MCP messages only;
 * logs go to stderr. Ends cleanly (exit 0) when stdin ends, on SIGINT / SIGTERM, or when the
 * client's end of stdout goes away.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { consoleLogger } from '../proto/common/logger.js';
import { AgentMqMcpServer } from '../client/mcp/index.js';
import { DEFAULT_NAMESERVER, int, parse, UsageError } from './args.js';

export const MCP_USAGE = `Usage: agentmq mcp [--nameserver HOST:PORT] [options]

Runs an MCP server over stdio for an MCP client (an IDE, a desktop assistant, an agent
framework): every live capability registered with the NameServer is an MCP tool, kept current
as agents come and go (notifications/tools/list_changed), and each tool call is sent to the agent
as an AgentMQ task. Its status updates and artifacts arrive as progress notifications (when the
client asks for progress), its result as the tool result; a failed, rejected, canceled or
timed-out task is a tool error (isError) with the reason. A canceled request cancels the task.
stdout carries MCP only; logs go to stderr (AGENTMQ_LOG_LEVEL=debug|info|warn|error).

Options:
  --nameserver HOST:PORT  the NameServer (default ${DEFAULT_NAMESERVER}); several to fail over
                          between: HOST:PORT;HOST:PORT (or ,), or repeat the flag
  --query TEXT            only capabilities matching TEXT (semantic discovery, best first)
  --top-k N               with --query: at most N capabilities (default 10)
  --tag T                 only capabilities with tag T (repeatable: every tag is required)
  --include-offline       also capabilities no agent serves right now (a call waits for an agent)
  --timeout-ms N          timeout of each call, the agent is told to cancel (default 300000; 0 = none)
  --strict                check a call's arguments against the capability's input schema before
                          sending the task (the agent checks them in any case)
  -h, --help              show this help

Ends when stdin closes, on SIGINT or SIGTERM. An MCP client configuration:
  {"mcpServers": {"agentmq": {"command": "npx", "args": ["agentmq", "mcp", "--nameserver", "127.0.0.1:9876"]}}}`;

/** Exit anyway this long after a clean close if some handle still holds the event loop. */
const EXIT_GRACE_MS = 3_000;

export async function mcp(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      nameserver: { type: 'string', multiple: true },
      query: { type: 'string' },
      'top-k': { type: 'string' },
      tag: { type: 'string', multiple: true },
      'include-offline': { type: 'boolean' },
      'timeout-ms': { type: 'string' },
      strict: { type: 'boolean' },
    },
    MCP_USAGE,
  );
  if (values.help) return (console.log(MCP_USAGE), 0);
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n\n${MCP_USAGE}`);
  if (values.query !== undefined && values.query.trim() === '') throw new UsageError('--query must not be blank');
  if (values['top-k'] !== undefined && values.query === undefined) throw new UsageError('--top-k needs --query');
  const topK = values['top-k'] !== undefined ? int('top-k', values['top-k'], 0) : undefined;
  if (topK === 0) throw new UsageError('--top-k must be at least 1');

  // Each value may itself be a `;`/`,` list; the SDK splits, checks and deduplicates them.
  const nameserver = values.nameserver && values.nameserver.length > 0 ? values.nameserver : [DEFAULT_NAMESERVER];
  const logger = consoleLogger('agentmq.mcp');
  const server = new AgentMqMcpServer({
    nameserver,
    logger,
    ...(values.query !== undefined ? { query: values.query } : {}),
    ...(topK !== undefined ? { topK } : {}),
    ...(values.tag ? { tags: values.tag } : {}),
    includeOffline: values['include-offline'] ?? false,
    timeoutMs: int('timeout-ms', values['timeout-ms'], 300_000),
    strict: values.strict ?? false,
  });

  let reason: string | undefined;
  const stop = (why: string) => {
    reason ??= why;
    void server.close();
  };
  const onSigint = () => stop('SIGINT');
  const onSigterm = () => stop('SIGTERM');
  const onStdinEnd = () => stop('stdin closed');
  const onStdoutError = (err: Error) => stop(`stdout failed (${err.message})`);
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  process.stdin.once('end', onStdinEnd);
  process.stdin.once('close', onStdinEnd);
  process.stdout.on('error', onStdoutError);
  try {
    await server.start(new StdioServerTransport(process.stdin, process.stdout));
    logger.info('serving MCP on stdio', { nameserver: nameserver.join(';'), ...(values.query ? { query: values.query } : {}), ...(values.tag ? { tags: values.tag.join(',') } : {}) });
    await server.closed;
    logger.info('MCP server closed', { reason: reason ?? 'the transport closed' });
  } finally {
    await server.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.stdin.off('end', onStdinEnd);
    process.stdin.off('close', onStdinEnd);
    process.stdout.off('error', onStdoutError);
    process.stdin.pause();
    setTimeout(() => {
      logger.warn(`still running ${EXIT_GRACE_MS} ms after closing; exiting`);
      process.exit(process.exitCode ?? 0);
    }, EXIT_GRACE_MS).unref();
  }
  return 0;
}
