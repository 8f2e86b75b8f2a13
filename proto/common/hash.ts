/**
 * FNV-1a (32-bit) of a string's UTF-16 code units: the stable hash that maps a message group to
 * its queue (broker) and to its broker (SDK), so a group always lands in the same place.
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
