#!/usr/bin/env node
// The `agentmq` command. AgentMQ runs from its TypeScript sources through tsx's loader, so a
// fresh clone needs no build step: `npm install && npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
