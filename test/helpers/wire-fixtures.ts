/** Wire fixtures shared by the codec tests (broker and SDK decoders against proto-loader). */

/** Every SystemProperties field of the proto, set (to the given values or non-defaults). */
export function everyField(i: number, over: Record<string, unknown> = {}): object {
  return {
    topic: { resourceNamespace: `ns-${i}`, name: `topic-${i}` },
    userProperties: { a: '1', 'ключ': 'значение', empty: '', '10': 'numeric key' },
    systemProperties: {
      tag: `tag-${i}`,
      keys: ['k1', '', 'k😀'],
      messageId: `01ID${i}`,
      bodyDigest: { type: 'MD5', checksum: 'ABCDEF' },
      bodyEncoding: 'GZIP',
      messageType: 'DELAY',
      bornTimestamp: { seconds: 1_700_000_000 + i, nanos: 999_999_999 },
      bornHost: 'host-α',
      storeTimestamp: { seconds: 2 ** 40, nanos: 1 },
      storeHost: '10.0.0.1:8081',
      deliveryTimestamp: { seconds: 2 ** 52, nanos: 0 },
      receiptHandle: 'rh',
      queueId: -3,
      queueOffset: 2 ** 53 - 1,
      invisibleDuration: { seconds: 30, nanos: 5 },
      deliveryAttempt: 7,
      messageGroup: 'group-1',
      traceContext: '00-abc-def-01',
      orphanedTransactionRecoveryDuration: { seconds: -5, nanos: -1 },
      deadLetterQueue: { topic: 'dlq', messageId: 'orig' },
      liteTopic: 'lite:1',
      priority: 9,
      ...over,
    },
    body: Buffer.from(`body ${i} ✓`),
  };
}
