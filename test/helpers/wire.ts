/**
 * Raw wire access for tests: typed MessagingService / BrokerAdmin calls with chosen metadata, so
 * tests can send exactly the (bad) requests a buggy or hostile client would.
 */
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { adminService, messagingService, type BrokerAdminClient, type MessagingServiceClient } from '../../proto/index.js';
import type { ReceiveMessageRequest } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageRequest.js';
import type { ReceiveMessageResponse__Output } from '../../proto/gen/apache/rocketmq/v2/ReceiveMessageResponse.js';

export function wireMetadata(clientId: string | null = `test@${process.pid}@${randomUUID().slice(0, 8)}`): grpc.Metadata {
  const md = new grpc.Metadata();
  if (clientId !== null) md.set('x-mq-client-id', clientId);
  md.set('x-mq-protocol', 'v2');
  md.set('x-mq-language', 'HTTP');
  md.set('x-mq-request-id', randomUUID());
  return md;
}

export function messagingClient(address: string): MessagingServiceClient {
  const Ctor = messagingService();
  return new Ctor(address, grpc.credentials.createInsecure());
}

export function adminClient(address: string): BrokerAdminClient {
  const Ctor = adminService();
  return new Ctor(address, grpc.credentials.createInsecure());
}

/** The last overload of a generated unary method: TypeScript infers Req/Res from it. */
type UnaryFn<Req, Res> = (argument: Req, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
type FullUnaryFn<Req, Res> = (argument: Req, md: grpc.Metadata, opts: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** Promise form of a unary call: `await call(client, client.SendMessage, request)`. */
export function call<Req, Res>(client: grpc.Client, fn: UnaryFn<Req, Res>, req: NoInfer<Req>, md: grpc.Metadata = wireMetadata(), timeoutMs = 10_000): Promise<Res> {
  const full = fn as unknown as FullUnaryFn<Req, Res>;
  return new Promise((resolve, reject) =>
    full.call(client, req, md, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

/** Collects every frame of a ReceiveMessage stream. */
export function receiveAll(client: MessagingServiceClient, req: ReceiveMessageRequest, md: grpc.Metadata = wireMetadata(), timeoutMs = 30_000): Promise<ReceiveMessageResponse__Output[]> {
  return new Promise((resolve, reject) => {
    const frames: ReceiveMessageResponse__Output[] = [];
    const stream = client.ReceiveMessage(req, md, { deadline: Date.now() + timeoutMs });
    stream.on('data', (f: ReceiveMessageResponse__Output) => frames.push(f));
    stream.on('end', () => resolve(frames));
    stream.on('error', reject);
  });
}
