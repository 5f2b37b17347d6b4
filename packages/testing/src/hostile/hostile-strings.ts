import fc from 'fast-check';

/**
 * Strings that have broken parsers, databases and log pipelines before: NUL and other control characters,
 * unpaired UTF-16 surrogates (not encodable as UTF-8), bidi overrides, zero-width and combining characters,
 * emoji sequences, look-alike quotes, SQL and path fragments, and long runs.
 */
const NASTY_FRAGMENTS = [
  '\u0000',
  '\u0007\u001b[31m',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '\u202e\u2066',
  '\u200f\u200b\ufeff',
  'e\u0301\u0301\u0301',
  '👩🏽‍💻🏳️‍🌈',
  'ﷺ',
  '𝕳𝖊𝖑𝖑𝖔',
  '’“”',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '../../etc/passwd',
  '%00%ff',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '\r\nSet-Cookie: a=b',
  ' ',
  '\t\n',
  '__proto__',
  'constructor',
  '1e400',
  '-0',
  'NaN',
];

/** One of the known troublemakers. */
export function nastyFragment(): fc.Arbitrary<string> {
  return fc.constantFrom(...NASTY_FRAGMENTS);
}

/**
 * Any string a hostile client could put in a JSON document: arbitrary UTF-16 code units (so lone surrogates),
 * full Unicode graphemes, known troublemakers glued together, and occasionally a long run.
 */
export function hostileString(options: { maxLength?: number; longRuns?: boolean } = {}): fc.Arbitrary<string> {
  const maxLength = options.maxLength ?? 40;
  const short = [
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength }) },
    {
      weight: 3,
      arbitrary: fc
        .array(fc.oneof(nastyFragment(), fc.string({ unit: 'grapheme-ascii', maxLength: 4 })), {
          minLength: 1,
          maxLength: 6,
        })
        .map((parts) => parts.join('')),
    },
  ];
  if (options.longRuns === false) return fc.oneof(...short);
  return fc.oneof(...short, {
    weight: 1,
    arbitrary: fc
      .tuple(fc.oneof(nastyFragment(), fc.constant('a')), fc.integer({ min: 200, max: 5_000 }))
      .map(([part, times]) => part.repeat(times)),
  });
}

/** Percent-encodes every byte of the UTF-8 form (lone surrogates become U+FFFD, as any client would send them). */
export function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

/**
 * A path segment as a hostile client would write it: percent-encoded text, or raw bytes that are not UTF-8 at all.
 * Never empty, `.` or `..` (HTTP clients normalise those away before sending), and short enough that the request
 * line stays under Node's 16 KiB header limit (beyond it Node itself answers 431 before any application code runs).
 */
export function hostilePathSegment(): fc.Arbitrary<string> {
  return fc
    .oneof(
      hostileString({ maxLength: 60, longRuns: false }).map(percentEncodeAll),
      fc
        .uint8Array({ minLength: 1, maxLength: 40 })
        .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
      fc.stringMatching(/^[A-Za-z0-9_~-]{1,80}$/),
    )
    .filter((segment) => segment.length > 0 && !/^(%2e|\.){1,2}$/i.test(segment));
}
