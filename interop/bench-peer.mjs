// The discord.js side of Earshot's side-by-side benchmark (benchmarks/.../PeerBenchmark.kt starts it as a child
// process). It loads a packet file the harness wrote, checks its work once, prints "ready", then measures one round
// per "run" line on stdin and answers "rate <units per second>"; it exits at end of input.
//
//   node bench-peer.mjs decode <packets.bin> <sampleRate> <channels> <count>
//       opusscript: one decoder through the packets in order, <count> decodes per round (see below why one).
//   node bench-peer.mjs parse <datagrams.bin> <mode> <keyHex> <expected.bin>
//       @discordjs/voice's VoiceReceiver.parsePacket on every datagram per round; the first pass checks each result
//       against the expected Opus payload.
//
// Files are a sequence of records: a 32-bit big-endian length, then that many bytes.
import fs from 'node:fs';
import readline from 'node:readline';
import { VoiceReceiver } from '@discordjs/voice';
import OpusScript from 'opusscript';

function readRecords(file) {
  const all = fs.readFileSync(file);
  const out = [];
  for (let at = 0; at < all.length;) {
    const n = all.readUInt32BE(at);
    out.push(all.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

const [kind, ...rest] = process.argv.slice(2);
let round;
let sink = 0;

if (kind === 'decode') {
  const [file, rate, channels, count] = rest;
  const packets = readRecords(file);
  const total = Number(count);
  // One decoder through the packets in order, round after round: opusscript 0.1.1 takes its PCM output view from
  // HEAPU16 at a byte address (index.js, outPCM), so each decoder writes its PCM at twice its allocation's address,
  // over the state of decoders created after it; with three or more live decoders the third one aborts. One decoder
  // does the same work per packet as the JVM side's ten decoders in turn.
  const decoder = new OpusScript(Number(rate), Number(channels), OpusScript.Application.AUDIO);
  const frame = (Number(rate) / 50) * Number(channels) * 2;
  for (const p of packets) {
    const pcm = decoder.decode(p);
    if (pcm.length !== frame) throw new Error(`opusscript decoded ${pcm.length} bytes, expected ${frame}`);
  }
  let next = 0;
  round = () => {
    for (let i = 0; i < total; i++) {
      sink += decoder.decode(packets[next]).length;
      if (++next === packets.length) next = 0;
    }
    return total;
  };
} else if (kind === 'parse') {
  const [file, mode, keyHex, expectedFile] = rest;
  const datagrams = readRecords(file);
  const expected = readRecords(expectedFile);
  const key = Buffer.from(keyHex, 'hex');
  // What VoiceConnection sets up for the receiver: a nonce buffer per mode (12 bytes for AES-GCM, 24 for XChaCha20).
  const nonce = Buffer.alloc(mode === 'aead_aes256_gcm_rtpsize' ? 12 : 24);
  // parsePacket reads only voiceConnection.state (to find a DAVE session when Ready); not ready means no DAVE.
  const receiver = new VoiceReceiver({ state: { status: 'signalling' } });
  // @discordjs/voice picks its XChaCha20 library with an un-exported async import at load time: wait for it.
  for (let tries = 0; ; tries++) {
    try {
      receiver.parsePacket(datagrams[0], mode, nonce, key, '1');
      break;
    } catch (e) {
      if (tries >= 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  for (let i = 0; i < datagrams.length; i++) {
    const opus = receiver.parsePacket(datagrams[i], mode, nonce, key, '1');
    if (Buffer.compare(opus, expected[i]) !== 0) throw new Error(`datagram ${i}: parsePacket gave a different payload`);
  }
  round = () => {
    for (let i = 0; i < datagrams.length; i++) {
      sink += receiver.parsePacket(datagrams[i], mode, nonce, key, '1').length;
    }
    return datagrams.length;
  };
} else {
  console.error(`unknown benchmark ${kind}`);
  process.exit(2);
}

console.log('ready');
const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== 'run') continue;
  const t0 = process.hrtime.bigint();
  const units = round();
  const t1 = process.hrtime.bigint();
  console.log(`rate ${units / (Number(t1 - t0) / 1e9)} ${sink & 1}`);
}
