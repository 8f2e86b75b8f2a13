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
    out.subscription = {
      ...(s.subscription?.group ? { group: s.subscription.group } : {}),
      subscriptions: s.subscription?.subscriptions ?? [],
      fifo: false,
      receiveBatchSize: 32,
      longPollingTimeout: msToDuration(Math.min(poll, ctx.options.pop.maxLongPollingMs)),
    };
  }
  return out;
}

export function createTelemetryHandler(ctx: BrokerContext, logger: Logger): MessagingServiceHandlers['Telemetry'] {
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
    let open = true;
    const closeOnce = () => {
      if (!open) return;
      open = false;
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
