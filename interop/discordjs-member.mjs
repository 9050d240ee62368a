// A real @discordjs/voice client for Earshot's voice-testkit. It joins through a fake gateway adapter (the values
// the main gateway would send come from the command line), plays an Ogg Opus file, records the Opus packets it
// receives from other users, prints one JSON line per event on stdout, and leaves after --duration ms.
//
//   node discordjs-member.mjs --endpoint 127.0.0.1:PORT --token T --session-id S --user-id U --guild-id G \
//       --channel-id C [--play file.opus] [--play-on-stdin] [--subscribe id,id] [--out received.jsonl]
//       [--duration 60000] [--no-dave] [--debug] [--loop]
//
// It leaves when --duration ms have passed or when a line "leave" arrives on stdin, whichever comes first. With
// --play-on-stdin it starts playing on a line "play" instead of as soon as it is ready. DAVE (through
// @snazzah/davey) is on unless --no-dave; its transitions print "transitioned" events with the voice privacy code,
// and DAVE's debug lines print as "dave" events (every debug line with --debug).
// The testkit serves a self-signed certificate, so run with NODE_TLS_REJECT_UNAUTHORIZED=0 (or NODE_EXTRA_CA_CERTS).
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import {
  AudioPlayerStatus,
  EndBehaviorType,
  NoSubscriberBehavior,
  StreamType,
  VoiceConnectionStatus,
  createAudioPlayer,
  createAudioResource,
  joinVoiceChannel,
} from '@discordjs/voice';

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    token: { type: 'string' },
    'session-id': { type: 'string' },
    'user-id': { type: 'string' },
    'guild-id': { type: 'string' },
    'channel-id': { type: 'string' },
    play: { type: 'string' },
    subscribe: { type: 'string', default: '' },
    out: { type: 'string' },
    duration: { type: 'string', default: '60000' },
    debug: { type: 'boolean', default: false },
    'play-on-stdin': { type: 'boolean', default: false },
    'no-dave': { type: 'boolean', default: false },
    loop: { type: 'boolean', default: false },
  },
});
for (const required of ['endpoint', 'token', 'session-id', 'user-id', 'guild-id', 'channel-id']) {
  if (!args[required]) {
    console.error(`missing --${required}`);
    process.exit(2);
  }
}

const print = (event) => process.stdout.write(`${JSON.stringify({ t: Date.now(), ...event })}\n`);
const out = args.out ? fs.createWriteStream(args.out) : null;

// What the main gateway would do on our op 4: answer with VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE.
const adapterCreator = (methods) => ({
  sendPayload(payload) {
    print({ event: 'gateway', op: payload.op, channel: payload.d?.channel_id ?? null });
    if (payload.op === 4 && payload.d.channel_id) {
      setImmediate(() => {
        methods.onVoiceStateUpdate({
          guild_id: args['guild-id'],
          channel_id: args['channel-id'],
          user_id: args['user-id'],
          session_id: args['session-id'],
          deaf: false,
          mute: false,
          self_deaf: payload.d.self_deaf,
          self_mute: payload.d.self_mute,
          suppress: false,
          request_to_speak_timestamp: null,
        });
        methods.onVoiceServerUpdate({ token: args.token, guild_id: args['guild-id'], endpoint: args.endpoint });
      });
    }
    return true;
  },
  destroy() {},
});

const connection = joinVoiceChannel({
  guildId: args['guild-id'],
  channelId: args['channel-id'],
  adapterCreator,
  selfDeaf: false,
  selfMute: false,
  // Debug is always on so DAVE's lines can be reported; the others print only with --debug.
  debug: true,
  daveEncryption: !args['no-dave'],
});

connection.on('stateChange', (from, to) => {
  print({ event: 'connection', from: from.status, to: to.status, closeCode: to.closeCode ?? null, reason: to.reason ?? null });
});
connection.on('error', (error) => print({ event: 'error', message: String(error?.message ?? error) }));
const DAVE_DEBUG = /\[DAVE\]|MLS|transition|decrypt|Session (re)?initialized|external sender|downgrade|upgrade/i;
connection.on('debug', (message) => {
  if (args.debug) print({ event: 'debug', message });
  else if (DAVE_DEBUG.test(message) && !message.includes('[WS] >>') && !message.includes('[WS] <<')) print({ event: 'dave', message });
});
connection.on('transitioned', (id) => print({ event: 'transitioned', id, privacyCode: connection.voicePrivacyCode ?? null }));

// Subscribe at once: packets from a user are only delivered while a subscription exists.
for (const userId of args.subscribe.split(',').filter(Boolean)) {
  const stream = connection.receiver.subscribe(userId, { end: { behavior: EndBehaviorType.Manual } });
  stream.on('data', (packet) => out?.write(`${JSON.stringify({ user: userId, opus: packet.toString('base64'), t: Date.now() })}\n`));
  stream.on('error', (error) => print({ event: 'receive-error', user: userId, message: String(error?.message ?? error) }));
}
connection.receiver.speaking.on('start', (userId) => print({ event: 'speaking', user: userId, speaking: true }));
connection.receiver.speaking.on('end', (userId) => print({ event: 'speaking', user: userId, speaking: false }));

let player = null;
let ready = false;
let playRequested = !args['play-on-stdin'];
function startPlaying() {
  if (!args.play || player || !ready || !playRequested) return;
  player = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play } });
  player.on('stateChange', (from, to) => {
    print({ event: 'player', from: from.status, to: to.status });
    if (args.loop && !leaving && to.status === AudioPlayerStatus.Idle) {
      player.play(createAudioResource(fs.createReadStream(args.play), { inputType: StreamType.OggOpus }));
    }
  });
  player.on('error', (error) => print({ event: 'player-error', message: String(error?.message ?? error) }));
  connection.subscribe(player);
  player.play(createAudioResource(fs.createReadStream(args.play), { inputType: StreamType.OggOpus }));
  print({ event: 'playing' });
}
connection.on(VoiceConnectionStatus.Ready, () => {
  ready = true;
  startPlaying();
});

let leaving = false;
function leave(why) {
  if (leaving) return;
  leaving = true;
  if (player && player.state.status !== AudioPlayerStatus.Idle) print({ event: 'warning', message: 'still playing when leaving' });
  print({ event: 'leaving', why });
  connection.destroy();
  const finish = () => {
    print({ event: 'done' });
    process.exit(0);
  };
  if (out) out.end(finish);
  else finish();
}

setTimeout(() => leave('duration'), Number(args.duration));
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  input += chunk;
  const lines = input.split('\n');
  input = lines.pop();
  for (const line of lines) {
    if (line.trim() === 'leave') leave('stdin');
    else if (line.trim() === 'play') {
      playRequested = true;
      startPlaying();
    }
  }
});
