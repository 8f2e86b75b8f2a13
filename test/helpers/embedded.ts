/** An in-process NameServer + broker on 127.0.0.1 ephemeral ports with a temp data dir. */
import { createNameServer, type NameServer } from '../../nameserver/index.js';
import { createBroker, type Broker, type BrokerOptions } from '../../broker/index.js';
import { silentLogger } from '../../proto/common/logger.js';
import { tmpDir } from './tmp-dir.js';

export interface Embedded {
  nameserver: string;
  ns: NameServer;
  broker: Broker;
  close(): Promise<void>;
}

export async function startEmbedded(brokerOptions: BrokerOptions = {}): Promise<Embedded> {
  const dir = tmpDir();
  const ns = createNameServer({ port: 0, logger: silentLogger });
  await ns.start();
  const nameserver = `127.0.0.1:${ns.address.port}`;
  const broker = createBroker({ port: 0, nameservers: [nameserver], logger: silentLogger, ...brokerOptions, store: { dataDir: dir.path, ...brokerOptions.store } });
  await broker.start();
  return {
    nameserver,
    ns,
    broker,
    close: async () => {
      await broker.close();
      await ns.close();
      dir.cleanup();
    },
  };
}
