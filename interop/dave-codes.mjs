// Prints known-answer values for Earshot's DaveCodes, computed by @snazzah/davey (the Rust DAVE library that
// @discordjs/voice uses): displayable codes, key fingerprints and pairwise fingerprints for fixed inputs.
// Inputs are derived from SHA-256 of fixed strings so the output is the same on every run.
// Usage: node dave-codes.mjs > ../voice-core/src/test/resources/dave/davey-codes.json
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const davey = require('@snazzah/davey');
const daveyVersion = require('@snazzah/davey/package.json').version;

const bytes = (label, n) => {
  const out = [];
  for (let i = 0; out.length < n; i++) out.push(...createHash('sha256').update(`${label}/${i}`).digest());
  return Buffer.from(out.slice(0, n));
};
const hex = (b) => Buffer.from(b).toString('hex');

const displayable = [];
const addDisplayable = (data, digits, group) =>
  displayable.push({ data: hex(data), digits, group_size: group, code: davey.generateDisplayableCode(data, digits, group) });
addDisplayable(bytes('epoch-authenticator-1', 32), 30, 5);
addDisplayable(bytes('epoch-authenticator-2', 32), 30, 5);
addDisplayable(bytes('fingerprint', 64), 45, 5);
addDisplayable(Buffer.alloc(32, 0xff), 30, 5);
addDisplayable(Buffer.alloc(32, 0x00), 30, 5);
addDisplayable(Buffer.alloc(16, 0xff), 16, 8); // 8-byte groups exceed a signed 64-bit value
for (let g = 1; g <= 8; g++) addDisplayable(bytes(`group-${g}`, 24), g * 3, g);

const key = (label) => Buffer.concat([Buffer.from([0x04]), bytes(label, 64)]); // shaped like a P-256 public key
const users = [
  { id: '158049329150427136', key: key('alice') },
  { id: '1129509120436162620', key: key('bob') },
  { id: '9223372036854775807', key: key('carol') }, // largest snowflake a signed Long holds
  { id: '1', key: key('dave') },
];

const keyFingerprints = users.map((u) => ({
  user_id: u.id, key: hex(u.key), fingerprint: hex(davey.generateKeyFingerprint(0, u.key, u.id)),
}));

const pairs = [[0, 1], [1, 0], [0, 2], [2, 3], [3, 0]];
const pairwise = [];
for (const [a, b] of pairs) {
  const fp = await davey.generatePairwiseFingerprint(0, users[a].key, users[a].id, users[b].key, users[b].id);
  pairwise.push({
    local_user_id: users[a].id, local_key: hex(users[a].key),
    remote_user_id: users[b].id, remote_key: hex(users[b].key),
    fingerprint: hex(fp), code: davey.generateDisplayableCode(fp, 45, 5),
  });
}

console.log(JSON.stringify({
  made_by: 'node interop/dave-codes.mjs (generateDisplayableCode, generateKeyFingerprint, generatePairwiseFingerprint)',
  davey_version: daveyVersion,
  displayable, key_fingerprints: keyFingerprints, pairwise,
}, null, 2));
