import { inflateSync, constants as zc } from 'node:zlib';
import { HEADER_DICTIONARY, adler32 } from '../../src/stream/spdy/dictionary';
import { HeaderDeflater, HeaderInflater, packHeaders, unpackHeaders } from '../../src/stream/spdy/header_block';
import { FrameParser, encodeData, encodeGoAway, encodePing, encodeSynStream, FLAG_FIN } from '../../src/stream/spdy/frames';

/** SPDY/3 framing facts, checked without a network. */

test('the header dictionary is the 1423 bytes of SPDY/3 (zlib dictionary id e3c6a7c2)', () => {
  expect(HEADER_DICTIONARY.length).toBe(1423);
  expect(adler32(HEADER_DICTIONARY).toString(16)).toBe('e3c6a7c2');
});

test('header blocks: stored blocks each ending in the sync-flush marker, readable by zlib with the dictionary', async () => {
  const deflater = new HeaderDeflater();
  const a = deflater.deflate(packHeaders(new Map([['streamtype', ['stdout']]])));
  const b = deflater.deflate(packHeaders(new Map([['port', ['80']], ['x', ['1', '2']]])));
  expect(a.subarray(0, 2)).toEqual(Buffer.from([0x78, 0xbb]));
  expect(a.readUInt32BE(2)).toBe(0xe3c6a7c2);
  for (const block of [a, b]) expect(block.subarray(-5)).toEqual(Buffer.from([0, 0, 0, 0xff, 0xff]));
  const whole = inflateSync(Buffer.concat([a, b]), { dictionary: HEADER_DICTIONARY, finishFlush: zc.Z_SYNC_FLUSH });
  expect(whole.length).toBe(packHeaders(new Map([['streamtype', ['stdout']]])).length + packHeaders(new Map([['port', ['80']], ['x', ['1', '2']]])).length);
  const inflater = new HeaderInflater();
  try {
    expect([...unpackHeaders(await inflater.inflate(a))]).toEqual([['streamtype', ['stdout']]]);
    expect([...unpackHeaders(await inflater.inflate(b))]).toEqual([['port', ['80']], ['x', ['1', '2']]]);
  } finally {
    inflater.close();
  }
});

test('the parser cuts a byte stream into frames wherever it was split', () => {
  const bytes = Buffer.concat([
    encodeSynStream(1, 0, 0, Buffer.from('hb')),
    encodeData(1, FLAG_FIN, Buffer.from('hello')),
    encodePing(7),
    encodeGoAway(1, 0),
  ]);
  for (const cut of [1, 3, 8, 13, bytes.length - 1]) {
    const p = new FrameParser();
    const frames = [...p.push(bytes.subarray(0, cut)), ...p.push(bytes.subarray(cut))];
    expect(frames.map((f) => f.kind)).toEqual(['synStream', 'data', 'ping', 'goAway']);
    expect(frames[1]).toMatchObject({ streamId: 1, flags: FLAG_FIN, data: Buffer.from('hello') });
    expect(frames[2]).toMatchObject({ id: 7 });
  }
});

test('an unlowercased header name is a protocol error', () => {
  expect(() => unpackHeaders(packHeaders(new Map([['ok', ['1']]])))).not.toThrow();
  const bad = Buffer.from(packHeaders(new Map([['ab', ['1']]])));
  bad[8] = 'A'.charCodeAt(0);
  expect(() => unpackHeaders(bad)).toThrow(/invalid header name/);
});
