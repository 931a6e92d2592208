// Conformance cases for TextEncoder/TextDecoder and their streams (WHATWG
// Encoding), and atob/btoa (HTML).
import { test, promise_test, assert_true, assert_equals, assert_array_equals, assert_throws_js,
         assert_throws_dom } from './harness.js';

test(() => {
  assert_array_equals(new TextEncoder().encode('\u00e9\u{1F600}'), [0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
  assert_equals(new TextEncoder().encoding, 'utf-8');
}, 'TextEncoder encodes UTF-8');
test(() => {
  assert_array_equals(new TextEncoder().encode('\ud800'), [0xef, 0xbf, 0xbd]);
}, 'a lone surrogate encodes as U+FFFD');
test(() => {
  const target = new Uint8Array(4);
  const result = new TextEncoder().encodeInto('a\u00e9b', target);
  assert_equals(result.read, 3);
  assert_equals(result.written, 4);
}, 'encodeInto');
test(() => {
  assert_equals(new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69])), 'hi');
  assert_equals(new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf])), '\ufeff');
}, 'UTF-8 BOM is stripped unless ignoreBOM');
test(() => {
  assert_equals(new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62])), 'a\ufffdb');
  assert_throws_js(TypeError, () => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])));
}, 'invalid UTF-8: replacement, or TypeError when fatal');
test(() => {
  const decoder = new TextDecoder();
  const first = decoder.decode(new Uint8Array([0xe2, 0x82]), { stream: true });
  const second = decoder.decode(new Uint8Array([0xac]));
  assert_equals(first + second, '\u20ac');
}, 'stream: true carries a partial sequence over');
test(() => {
  for (const label of ['utf8', 'UTF-8', ' unicode-1-1-utf-8 ', 'unicode11utf8']) {
    assert_equals(new TextDecoder(label).encoding, 'utf-8', label);
  }
}, 'UTF-8 labels');
test(() => {
  assert_equals(new TextDecoder('latin1').encoding, 'windows-1252');
  assert_equals(new TextDecoder('iso-8859-1').decode(new Uint8Array([0x80, 0xe9])), '\u20ac\u00e9');
  assert_equals(new TextDecoder('ascii').encoding, 'windows-1252');
}, 'latin1, ascii and iso-8859-1 mean windows-1252');
test(() => {
  assert_equals(new TextDecoder('iso-8859-2').decode(new Uint8Array([0xa1])), '\u0104');
  assert_equals(new TextDecoder('koi8-r').decode(new Uint8Array([0xc1])), '\u0430');
  assert_equals(new TextDecoder('windows-1251').decode(new Uint8Array([0xc0])), '\u0410');
}, 'legacy single-byte encodings');
test(() => {
  assert_equals(new TextDecoder('utf-16le').decode(new Uint8Array([0x68, 0x00, 0x69, 0x00])), 'hi');
  assert_equals(new TextDecoder('utf-16be').decode(new Uint8Array([0x00, 0x68])), 'h');
  assert_equals(new TextDecoder('utf-16').encoding, 'utf-16le');
}, 'UTF-16');
test(() => {
  assert_throws_js(RangeError, () => new TextDecoder('no-such-encoding'));
  assert_throws_js(RangeError, () => new TextDecoder('replacement'));
}, 'unknown labels throw RangeError');
promise_test(async () => {
  const stream = new ReadableStream({
    start(c) { c.enqueue('h\u00e9'); c.close(); },
  }).pipeThrough(new TextEncoderStream()).pipeThrough(new TextDecoderStream());
  const reader = stream.getReader();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  assert_equals(text, 'h\u00e9');
}, 'TextEncoderStream / TextDecoderStream round trip');
test(() => {
  assert_equals(btoa('hello'), 'aGVsbG8=');
  assert_equals(atob('aGVsbG8='), 'hello');
  assert_equals(atob('aGVsbG8'), 'hello');
  assert_equals(atob(' aGVs\nbG8= '), 'hello');
  assert_equals(atob('YQ'), 'a');
}, 'atob/btoa round trip, forgiving decode');
test(() => {
  assert_throws_dom('InvalidCharacterError', () => atob('a'));
  assert_throws_dom('InvalidCharacterError', () => atob('a=b'));
  assert_throws_dom('InvalidCharacterError', () => atob('@@@@'));
  assert_throws_dom('InvalidCharacterError', () => btoa('\u0100'));
}, 'atob/btoa errors are InvalidCharacterError');
test(() => {
  assert_equals(btoa('\u00ff\u00fe'), '//4=');
  assert_equals(atob('//4='), '\u00ff\u00fe');
}, 'btoa takes Latin-1 code units');
