/**
 * The Telemetry bidi stream: the client reports its Settings, the broker answers with the
 * authoritative Settings (what Apache's proxy sends, see rocketmq-notes 2.2): the client's own
 * plus max_body_size, an exponential backoff policy and consumer batch/poll parameters. An open
 * stream marks the client online in the registry.
 */
import type * as grpc from '@grpc/grpc-js';
import { okStatus, toStatus } from '../../proto/common/status.js';
import { durationToMs, msToDuration } from '../../proto/common/time.js';
import type { Logger } from '../../proto/common/logger.js';
import type { MessagingServiceHandlers } from '../../proto/index.js';
import type { Settings, Settings__Output } from '../../proto/gen/apache/rocketmq/v2/Settings.js';
import type { BrokerContext } from '../context.js';
import { DEFAULT_MAX_DELIVERY_ATTEMPTS } from '../consumer/group-manager.js';
import { requireClientId } from './validate.js';

/** Exponential backoff the broker asks consumers to use between redeliveries. */
export const CONSUMER_BACKOFF = { initialMs: 1000, maxMs: 60_000, multiplier: 2 };
/** Producer retry backoff (Apache's defaults). */
export const PRODUCER_BACKOFF = { initialMs: 10, maxMs: 1000, multiplier: 2 };

type TelemetryCall = Parameters<MessagingServiceHandlers['Telemetry']>[0];

export function mergeSettings(ctx: BrokerContext, s: Settings__Output): Settings {
  const backoff = s.pubSub === 'publishing' ? PRODUCER_BACKOFF : CONSUMER_BACKOFF;
  const group = s.subscription?.group?.name ? ctx.groups.get(s.subscription.group.name) : undefined;
  const maxAttempts = s.pubSub === 'publishing' ? s.backoffPolicy?.maxAttempts || 3 : group?.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
  const out: Settings = {
    ...(s.clientType ? { clientType: s.clientType } : {}),
    ...(s.accessPoint ? { accessPoint: s.accessPoint } : {}),
    ...(s.requestTimeout ? { requestTimeout: s.requestTimeout } : {}),
    ...(s.userAgent ? { userAgent: s.userAgent } : {}),
    backoffPolicy: {
      maxAttempts,
      exponentialBackoff: {
        initial: msToDuration(backoff.initialMs),
        max: msToDuration(backoff.maxMs),
        multiplier: backoff.multiplier,
      },
    },
  };
  if (s.pubSub === 'publishing') {
    out.publishing = { topics: s.publishing?.topics ?? [], maxBodySize: ctx.options.maxBodySize, validateMessageType: true };
  } else if (s.pubSub === 'subscription') {
    const poll = durationToMs(s.subscription?.longPollingTimeout) ?? 30_000;
    const lite = s.clientType === 'LITE_PUSH_CONSUMER' || s.clientType === 'LITE_SIMPLE_CONSUMER';
    out.subscription = {
      ...(s.subscription?.group ? { group: s.subscription.group } : {}),
      subscriptions: s.subscription?.subscriptions ?? [],
      // Lite topics are consumed in order, one batch per lite topic at a time.
      fifo: lite,
      receiveBatchSize: 32,
      longPollingTimeout: msToDuration(Math.min(poll, ctx.options.pop.maxLongPollingMs)),
      ...(lite
        ? {
            liteSubscriptionQuota: Math.min(2 ** 31 - 1, ctx.lite.clientQuota(s.subscription?.group?.name ?? '')),
            maxLiteTopicSize: ctx.options.lite.maxNameLength,
          }
        : {}),
    };
  }
  return out;
}

export function createTelemetryHandler(ctx: BrokerContext, logger: Logger): MessagingServiceHandlers['Telemetry'] {
  /** Open Telemetry streams per client id: how the broker talks to a client unasked. */
  const streams = new Map<string, Set<TelemetryCall>>();
  ctx.lite.setUnsubscribeNotifier((clientId, parent, _group, liteTopic) => {
    const calls = streams.get(clientId);
    if (!calls || calls.size === 0) {
      logger.info('cannot tell a client its lite topic was taken over: no Telemetry stream; its next full sync is told again', { clientId, topic: parent, liteTopic });
      return;
    }
    for (const c of calls) c.write({ status: okStatus(), notifyUnsubscribeLiteCommand: { liteTopic } });
  });
  return (call) => {
    let clientId: string;
    try {
      clientId = requireClientId(call.metadata);
    } catch (err) {
      call.write({ status: toStatus(err, logger) });
      call.end();
      return;
    }
    ctx.clients.streamOpened(clientId);
    const mine = streams.get(clientId) ?? new Set<TelemetryCall>();
    streams.set(clientId, mine);
    mine.add(call);
    let open = true;
    const closeOnce = () => {
      if (!open) return;
      open = false;
      mine.delete(call);
      if (mine.size === 0 && streams.get(clientId) === mine) {
        streams.delete(clientId);
        // No stream left: the client is gone or cut off; its lite events go to the others now.
        if (!ctx.closing()) ctx.lite.clientDisconnected(clientId);
      }
      ctx.clients.streamClosed(clientId);
    };
    call.on('data', (cmd) => {
      try {
        if (cmd.command === 'settings' && cmd.settings) {
          const s = cmd.settings;
          ctx.clients.touch(clientId, {
            clientType: s.clientType,
            group: s.subscription?.group?.name ?? '',
            topics: (s.subscription?.subscriptions ?? []).flatMap((e: { topic?: { name?: string } | null }) => (e.topic?.name ? [e.topic.name] : [])),
            language: s.userAgent?.language,
            version: s.userAgent?.version,
          });
          call.write({ status: okStatus(), settings: mergeSettings(ctx, s) });
        } else {
          ctx.clients.touch(clientId);
        }
        ctx.lite.touchClient(clientId);
      } catch (err) {
        call.write({ status: toStatus(err, logger) });
      }
    });
    call.on('end', () => {
      closeOnce();
      call.end();
    });
    call.on('error', closeOnce);
    call.on('cancelled', closeOnce);
    call.on('close', closeOnce);
  };
}
