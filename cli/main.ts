/**
 * `agentmq` command-line entry: dispatches to server commands (dev, nameserver, broker), client
 * commands (topic, group, send, consume, clients, brokers, ...) and the MCP server (mcp). The
 * only module besides bin/ that reads argv, env or writes to the terminal.
 */
import { MqError } from '../proto/common/errors.js';
import { UsageError } from './args.js';

export const USAGE = `Usage: agentmq <command> [options]

Servers:
  dev                      NameServer + broker in one process (the embedded default)
  nameserver               a NameServer
  broker                   a broker
  cluster up|down|status   a local cluster: N NameServers + M brokers as processes on loopback

Client commands (take --nameserver HOST:PORT, default 127.0.0.1:9876):
  topic create|update|list|delete   manage topics (--type lite: a LITE parent of lite topics)
  topic register NAME ...  register a topic as a capability (description, skills, or an AgentCard)
  discover "QUERY"         who can do this? (semantic discovery)
  group create|list|delete          manage consumer groups
  send TOPIC [BODY]        send messages (BODY, or one message per stdin line; --lite-topic L)
  consume TOPIC            receive, print and ack messages (--lite-topic L: lite topics)
  message get|find         look messages up by id or business key
  dlq redrive GROUP        move dead letters back to their topics
  clients                  list online clients
  brokers                  list live brokers

Agents:
  mcp                      an MCP server over stdio: live capabilities as MCP tools, calls run as tasks

Run 'agentmq <command> --help' for the options of a command.`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'dev':
        return await (await import('./servers.js')).dev(rest);
      case 'nameserver':
        return await (await import('./servers.js')).nameserver(rest);
      case 'broker':
        return await (await import('./servers.js')).broker(rest);
      case 'cluster':
        return await (await import('./cluster.js')).cluster(rest);
      case 'topic':
      case 'group':
      case 'send':
      case 'consume':
      case 'clients':
      case 'brokers':
      case 'message':
      case 'dlq':
      case 'discover':
        return await (await import('./client-commands.js')).run(cmd, rest);
      case 'mcp':
        return await (await import('./mcp-command.js')).mcp(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return cmd === undefined ? 1 : 0;
      default:
        console.error(`agentmq: unknown command ${JSON.stringify(cmd)}\n\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`agentmq ${cmd}: ${err.message}`);
      return 2;
    }
    if (err instanceof MqError) {
      console.error(`agentmq ${cmd}: ${err.code}: ${err.message}`);
      return 1;
    }
    console.error(`agentmq ${cmd}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
