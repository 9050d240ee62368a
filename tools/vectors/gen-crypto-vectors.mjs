// Generates known-answer vectors for Discord's two live transport-encryption modes
// (aead_aes256_gcm_rtpsize, aead_xchacha20_poly1305_rtpsize) in the full on-the-wire layout:
//
//   | AAD (cleartext header) | ciphertext | 16-byte tag | 4-byte nonce suffix (uint32 BE) |
//
// AES-256-GCM IV = suffix || 8 zero bytes; XChaCha20-Poly1305 nonce = suffix || 20 zero bytes.
// Every packet is produced by two independent implementations that must agree byte for byte:
//   AES-256-GCM:        node:crypto (OpenSSL)  and  @noble/ciphers gcm
//   XChaCha20-Poly1305: @noble/ciphers         and  libsodium-wrappers (libsodium compiled to WASM)
// Inputs are deterministic (derived from SHA-256 of fixed labels), so rerunning gives identical files.
//
// Usage: npm ci && node gen-crypto-vectors.mjs [outputDir]
import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gcm } from '@noble/ciphers/aes.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import sodiumModule from 'libsodium-wrappers';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.argv[2] ?? join(here, '../../voice-core/src/test/resources/vectors/crypto'));

await sodiumModule.ready;
const sodium = sodiumModule;

const TAG = 16;

/** Deterministic bytes: SHA-256(label || counter) blocks, concatenated and cut to n. */
function bytes(label, n) {
  const out = Buffer.alloc(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash('sha256').update(`earshot-vectors/${label}/${block}`).digest();
    i += h.copy(out, i, 0, Math.min(h.length, n - i));
  }
  return out;
}

const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const hex = (b) => Buffer.from(b).toString('hex');

/** RTP fixed header (RFC 3550): V=2|P|X|CC, M|PT, seq, timestamp, SSRC; then CSRCs; then the 0xBEDE preamble if X. */
function rtpHeader({ padding = false, extWords = null, csrcs = [], marker = false, pt = 120, seq, ts, ssrc }) {
  const b0 = 0x80 | (padding ? 0x20 : 0) | (extWords !== null ? 0x10 : 0) | csrcs.length;
  const b1 = (marker ? 0x80 : 0) | pt;
  const parts = [Buffer.from([b0, b1]), u16(seq), u32(ts), u32(ssrc), ...csrcs.map(u32)];
  if (extWords !== null) parts.push(Buffer.from([0xbe, 0xde]), u16(extWords));
  return Buffer.concat(parts);
}

// Each case: the cleartext AAD and the plaintext that ends up encrypted behind it.
const cases = [
  {
    name: 'rtp-ext1',
    comment: 'RTP 0x90 (X=1): one-word 0xBEDE extension (audio level id 1, speaker id 9) + 60-byte Opus-like payload',
    nonce: 0x00000000,
    aad: rtpHeader({ extWords: 1, seq: 4242, ts: 960 * 100, ssrc: 0x0001e240 }),
    plain: Buffer.concat([Buffer.from([0x10, 0x85, 0x90, 0x02]), Buffer.from([0xfc]), bytes('ext1/opus', 59)]),
  },
  {
    name: 'rtp-ext2',
    comment: 'RTP 0x90 (X=1), marker set: two-word 0xBEDE extension (level + 3-byte abs-send-time + 2 pad) + 120-byte payload',
    nonce: 0x00000001,
    aad: rtpHeader({ extWords: 2, marker: true, seq: 65535, ts: 0xfffffc40, ssrc: 0xdeadbeef }),
    plain: Buffer.concat([Buffer.from([0x10, 0xff, 0x32, 0x01, 0x02, 0x03, 0x00, 0x00]), Buffer.from([0xfc]), bytes('ext2/opus', 119)]),
  },
  {
    name: 'rtp-noext',
    comment: 'RTP 0x80 (no extension): the 3-byte Opus silence frame F8 FF FE',
    nonce: 0x0000012c,
    aad: rtpHeader({ seq: 0, ts: 0, ssrc: 1 }),
    plain: Buffer.from([0xf8, 0xff, 0xfe]),
  },
  {
    name: 'rtp-padding',
    comment: 'RTP 0xB0 (P=1, X=1): one-word extension + 40-byte payload + 4 padding bytes (last byte = 4), all encrypted',
    nonce: 0x7fffffff,
    aad: rtpHeader({ padding: true, extWords: 1, seq: 32768, ts: 123456789, ssrc: 0x7fffffff }),
    plain: Buffer.concat([Buffer.from([0x10, 0x20, 0x90, 0x02]), Buffer.from([0xfc]), bytes('padding/opus', 39), Buffer.from([0, 0, 0, 4])]),
  },
  {
    name: 'rtp-csrc',
    comment: 'RTP 0x92 (X=1, CC=2): two CSRCs in the AAD, then the extension preamble; 80-byte payload',
    nonce: 0xffffffff,
    aad: rtpHeader({ extWords: 1, csrcs: [0x11111111, 0x22222222], seq: 7, ts: 48000, ssrc: 0xcafebabe }),
    plain: Buffer.concat([Buffer.from([0x10, 0x7f, 0x90, 0x01]), Buffer.from([0x78]), bytes('csrc/opus', 79)]),
  },
  {
    name: 'rtp-empty',
    comment: 'RTP 0x80 with an empty payload: zero-length ciphertext, the tag authenticates the header alone',
    nonce: 0x01020304,
    aad: rtpHeader({ seq: 1, ts: 960, ssrc: 2 }),
    plain: Buffer.alloc(0),
  },
  {
    name: 'rtp-large',
    comment: 'RTP 0x90: one-word extension + 1100-byte payload (exercises the bulk paths of block-parallel implementations)',
    nonce: 0xdeadbeef,
    aad: rtpHeader({ extWords: 1, seq: 12345, ts: 0x80000000, ssrc: 0x00abcdef }),
    plain: Buffer.concat([Buffer.from([0x10, 0x01, 0x90, 0x04]), bytes('large/opus', 1100)]),
  },
  {
    name: 'rtcp-rr',
    comment: 'RTCP receiver report (0x81 0xC9): 8-byte AAD (V/P/RC, PT, length, sender SSRC) + one 24-byte report block',
    nonce: 0x00000005,
    aad: Buffer.concat([Buffer.from([0x81, 0xc9]), u16(7), u32(0x12345678)]),
    plain: Buffer.concat([u32(0x0001e240), Buffer.from([0x00, 0x00, 0x00, 0x03]), u32(0x00011092), u32(0x00000010), u32(0), u32(0)]),
  },
];

function aesNode(key, iv, aad, plain) {
  const c = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
  c.setAAD(aad);
  const ct = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([ct, c.getAuthTag()]);
}

function aesNodeOpen(key, iv, aad, sealed) {
  const d = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG });
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG)), d.final()]);
}

const modes = [
  {
    wire: 'aead_aes256_gcm_rtpsize',
    nonceLength: 12,
    implementations: 'node:crypto (OpenSSL ' + process.versions.openssl + ') and @noble/ciphers gcm',
    seal(key, nonce, aad, plain) {
      const a = aesNode(key, nonce, aad, plain);
      const b = Buffer.from(gcm(key, nonce, aad).encrypt(plain));
      if (!a.equals(b)) throw new Error('AES-GCM: node:crypto and @noble/ciphers disagree');
      return a;
    },
    open(key, nonce, aad, sealed) {
      const a = aesNodeOpen(key, nonce, aad, sealed);
      const b = Buffer.from(gcm(key, nonce, aad).decrypt(sealed));
      if (!a.equals(b)) throw new Error('AES-GCM open: implementations disagree');
      return a;
    },
  },
  {
    wire: 'aead_xchacha20_poly1305_rtpsize',
    nonceLength: 24,
    implementations: '@noble/ciphers xchacha20poly1305 and libsodium-wrappers (libsodium ' + sodium.SODIUM_VERSION_STRING + ')',
    seal(key, nonce, aad, plain) {
      const a = Buffer.from(xchacha20poly1305(key, nonce, aad).encrypt(plain));
      const b = Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, aad, null, nonce, key));
      if (!a.equals(b)) throw new Error('XChaCha20-Poly1305: @noble/ciphers and libsodium disagree');
      return a;
    },
    open(key, nonce, aad, sealed) {
      const a = Buffer.from(xchacha20poly1305(key, nonce, aad).decrypt(sealed));
      const b = Buffer.from(sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, aad, nonce, key));
      if (!a.equals(b)) throw new Error('XChaCha20-Poly1305 open: implementations disagree');
      return a;
    },
  },
];

const pkgVersion = (name) => JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;

mkdirSync(outDir, { recursive: true });
for (const mode of modes) {
  const lines = [
    `# Known-answer vectors for ${mode.wire} (Discord voice transport encryption, rtpsize layout).`,
    '# Generated by tools/vectors/gen-crypto-vectors.mjs; do not edit by hand (see README.md in this folder).',
    `# Each packet was produced by ${mode.implementations}, which agreed byte for byte.`,
    `# node ${process.versions.node}, @noble/ciphers ${pkgVersion('@noble/ciphers')}, libsodium-wrappers ${pkgVersion('libsodium-wrappers')}.`,
    '# Record fields (hex unless noted):',
    '#   case       name of the case',
    '#   key        32-byte secret key',
    '#   nonce      4-byte nonce suffix as sent (uint32 big-endian); the cipher nonce is this followed by zero bytes',
    '#   aad_length number of cleartext header bytes at the front of the packet (decimal)',
    '#   plaintext  the bytes that decrypt must write after the AAD',
    '#   packet     the full datagram: AAD | ciphertext | 16-byte tag | nonce suffix',
    '',
  ];
  for (const c of cases) {
    const key = bytes(`${mode.wire}/${c.name}/key`, 32);
    const suffix = u32(c.nonce);
    const nonce = Buffer.concat([suffix, Buffer.alloc(mode.nonceLength - 4)]);
    const sealed = mode.seal(key, nonce, c.aad, c.plain);
    if (!mode.open(key, nonce, c.aad, sealed).equals(c.plain)) throw new Error(`${mode.wire}/${c.name}: round trip failed`);
    const packet = Buffer.concat([c.aad, sealed, suffix]);
    lines.push(
      `# ${c.comment}`,
      `case = ${c.name}`,
      `key = ${hex(key)}`,
      `nonce = ${hex(suffix)}`,
      `aad_length = ${c.aad.length}`,
      `plaintext = ${hex(c.plain)}`,
      `packet = ${hex(packet)}`,
      '',
    );
  }
  const file = join(outDir, `${mode.wire}.hex`);
  writeFileSync(file, lines.join('\n'));
  console.log(`wrote ${cases.length} cases to ${file}`);
}
