// Line-based JSON RPC over stdin/stdout that drives named @snazzah/davey DAVESession instances, so that Earshot's
// JVM tests can check their MLS group against davey (Rust/OpenMLS, what discord.js uses).
// Request:  {"id": 1, "cmd": "new", "session": "A", ...}   Response: {"id": 1, "ok": true, ...} or {"id": 1, "ok": false, "error": "..."}
// Binary values travel as hex. User and channel ids travel as decimal strings.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const davey = require('@snazzah/davey');

const sessions = new Map();
const hex = (buf) => (buf == null ? null : Buffer.from(buf).toString('hex'));
const bin = (h) => Buffer.from(h ?? '', 'hex');

function session(q) {
  const s = sessions.get(q.session);
  if (!s) throw new Error(`no session ${q.session}`);
  return s;
}

const handlers = {
  ready: () => ({ version: davey.VERSION, protocol: davey.DAVE_PROTOCOL_VERSION }),
  new: (q) => {
    sessions.set(q.session, new davey.DAVESession(1, q.userId, q.channelId));
    return {};
  },
  close: (q) => {
    sessions.delete(q.session);
    return {};
  },
  reset: (q) => {
    session(q).reset();
    return {};
  },
  setExternalSender: (q) => {
    session(q).setExternalSender(bin(q.hex));
    return {};
  },
  getSerializedKeyPackage: (q) => ({ hex: hex(session(q).getSerializedKeyPackage()) }),
  // davey takes the operation type separately and the vector INCLUDING its varint length (docs/dave.md §1.9).
  processProposals: (q) => {
    const r = session(q).processProposals(q.opType, bin(q.hex), q.recognized ?? undefined);
    return { commit: hex(r?.commit), welcome: hex(r?.welcome) };
  },
  processCommit: (q) => {
    session(q).processCommit(bin(q.hex));
    return {};
  },
  processWelcome: (q) => {
    session(q).processWelcome(bin(q.hex));
    return {};
  },
  status: (q) => {
    const s = session(q);
    return {
      status: s.status,
      ready: s.ready,
      epoch: s.epoch == null ? null : String(s.epoch),
      ownLeafIndex: s.ownLeafIndex,
      voicePrivacyCode: s.voicePrivacyCode,
      epochAuthenticator: hex(s.getEpochAuthenticator()),
      userIds: s.getUserIds(),
    };
  },
  epoch: (q) => ({ epoch: session(q).epoch == null ? null : String(session(q).epoch) }),
  voicePrivacyCode: (q) => ({ code: session(q).voicePrivacyCode }),
  getEpochAuthenticator: (q) => ({ hex: hex(session(q).getEpochAuthenticator()) }),
  getVerificationCode: async (q) => ({ code: await session(q).getVerificationCode(q.userId) }),
  encryptOpus: (q) => ({ hex: hex(session(q).encryptOpus(bin(q.hex))) }),
  decrypt: (q) => ({ hex: hex(session(q).decrypt(q.userId, 0 /* AUDIO */, bin(q.hex))) }),
  setPassthroughMode: (q) => {
    session(q).setPassthroughMode(q.on, q.expiry ?? undefined);
    return {};
  },
};

// One request at a time, in order (some handlers are async).
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  let q = {};
  let reply;
  try {
    q = JSON.parse(line);
    const handler = handlers[q.cmd];
    if (!handler) throw new Error(`unknown cmd ${q.cmd}`);
    reply = { id: q.id, ok: true, ...(await handler(q)) };
  } catch (e) {
    reply = { id: q.id, ok: false, error: String(e?.message ?? e) };
  }
  process.stdout.write(JSON.stringify(reply) + '\n');
}
