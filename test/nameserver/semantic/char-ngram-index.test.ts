import { describe, expect, it } from 'vitest';
import { CharNgramIndex, charNgramCounts } from '../../../nameserver/semantic/char-ngram-index.js';

describe('character n-gram index', () => {
  it('char n-grams - marks word boundaries and skips stop words and numbers', () => {
    const g = charNgramCounts('the Subtitles 2024', 4, 4);
    expect([...g.keys()]).toEqual(['<sub', 'subt', 'ubti', 'btit', 'titl', 'itle', 'tles', 'les>']);
  });

  it('char n-grams - ranks a cognate in another language first', () => {
    const idx = new CharNgramIndex();
    idx.upsert('subtitles', 'Generate subtitles for a video');
    idx.upsert('invoices', 'Extract line items from invoices');
    idx.upsert('translation', 'Translate text between languages');
    idx.upsert('calendar', 'Schedule meetings across calendars');
    idx.upsert('search', 'Search the web for sources');
    const { hits, ceiling } = idx.searchWithCeiling('Necesito subtítulos para este vídeo');
    expect(hits[0]!.key).toBe('subtitles');
    expect(ceiling).toBeGreaterThan(hits[0]!.score);
    expect(idx.search('zzzz qqqq')).toEqual([]);
    expect(idx.remove('subtitles')).toBe(true);
    expect(idx.search('subtitles').map((h) => h.key)).not.toContain('subtitles');
  });

  it('char n-grams - rejects bad options', () => {
    expect(() => new CharNgramIndex({ min: 5, max: 4 })).toThrow(RangeError);
    expect(() => new CharNgramIndex({ maxDocumentShare: 0 })).toThrow(RangeError);
  });
});
