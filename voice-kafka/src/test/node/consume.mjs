// Reads every record of a topic written by Earshot's KafkaVoiceSink and prints one summary line per record, decoding
// the format from docs/kafka-records.md on its own (no JVM code): VoiceKafkaSpec compares the lines with its own.
// Usage: node consume.mjs <bootstrap> <topic>
import { createHash } from 'node:crypto';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [bootstrap, topic] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'earshot-node-check', brokers: [bootstrap], logLevel: logLevel.ERROR });

const sha = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 16);
const text = (headers, name) => (headers[name] === undefined ? '' : headers[name].toString('utf8'));

// One audio frame (big-endian fields, little-endian PCM), see docs/kafka-records.md.
function frames(value) {
  const out = [];
  let o = 0;
  while (o < value.length) {
    const tick = value.readBigInt64BE(o); o += 8;
    const wallclock = value.readBigInt64BE(o); o += 8;
    const ssrc = value.readUInt32BE(o); o += 4;
    const seq = value.readUInt16BE(o); o += 2;
    const ts = value.readUInt32BE(o); o += 4;
    const kind = value.readUInt8(o); o += 1;
    const level = value.readInt16BE(o); o += 2;
    const flags = value.readInt16BE(o); o += 2;
    const user = value.readBigInt64BE(o); o += 8;
    const count = value.readUInt8(o); o += 1;
    const packets = [];
    for (let i = 0; i < count; i++) {
      const len = value.readUInt16BE(o); o += 2;
      packets.push(value.subarray(o, o + len)); o += len;
    }
    const samples = value.readUInt32BE(o); o += 4;
    const pcm = value.subarray(o, o + samples * 2); o += samples * 2;
    let first = 0;
    if (samples > 0) first = pcm.readInt16LE(0);
    out.push([tick, wallclock, ssrc, seq, ts, kind, level, flags, user, packets.map((p) => p.length).join('/'),
      sha(Buffer.concat(packets)), samples, first, sha(pcm)].join(':'));
  }
  return out;
}

function summary(partition, m) {
  const h = m.headers;
  const type = text(h, 'earshot-type');
  const head = [partition, m.offset, m.key.toString('utf8'), type, text(h, 'earshot-session'), text(h, 'earshot-seq'),
    text(h, 'earshot-guild'), text(h, 'earshot-channel'), text(h, 'earshot-user'), text(h, 'earshot-ssrc'),
    text(h, 'earshot-tick'), text(h, 'earshot-wallclock')].join('|');
  if (type === 'audio') {
    const fs = frames(m.value);
    if (String(fs.length) !== text(h, 'earshot-frames')) throw new Error(`frame count mismatch at ${m.offset}`);
    return `${head}|${text(h, 'earshot-format')}|${fs.join(',')}`;
  }
  const json = JSON.parse(m.value.toString('utf8'));
  const keys = Object.keys(json).sort();
  return `${head}|${keys.map((k) => `${k}=${json[k]}`).join(';')}`;
}

const admin = kafka.admin();
await admin.connect();
const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
await admin.disconnect();

const lines = [];
const seen = new Map();
const consumer = kafka.consumer({ groupId: `earshot-node-check-${process.pid}-${Date.now()}` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let done;
const finished = new Promise((resolve) => { done = resolve; });
const complete = () => [...ends].every(([p, end]) => end === 0n || (seen.get(p) ?? -1n) + 1n >= end);
if (complete()) done();
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    lines.push([partition, BigInt(message.offset), summary(partition, message)]);
    seen.set(partition, BigInt(message.offset));
    if (complete()) done();
  },
});
const timer = setTimeout(() => { console.error('timed out'); process.exit(2); }, 60000);
await finished;
clearTimeout(timer);
await consumer.disconnect();
lines.sort((a, b) => (a[0] - b[0]) || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
for (const l of lines) console.log(l[2]);
