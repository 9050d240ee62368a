package dev.earshot.voice.gateway

/**
 * Voice gateway opcodes (docs/protocol.md §2.3). Official ones are named as Discord names them; the undocumented ones
 * (12, 14-20) are parsed where useful and otherwise ignored, never treated as fatal.
 */
public object VoiceOp {
    public const val IDENTIFY: Int = 0
    public const val SELECT_PROTOCOL: Int = 1
    public const val READY: Int = 2
    public const val HEARTBEAT: Int = 3
    public const val SESSION_DESCRIPTION: Int = 4
    public const val SPEAKING: Int = 5
    public const val HEARTBEAT_ACK: Int = 6
    public const val RESUME: Int = 7
    public const val HELLO: Int = 8
    public const val RESUMED: Int = 9
    public const val CLIENTS_CONNECT: Int = 11
    public const val VIDEO: Int = 12
    public const val CLIENT_DISCONNECT: Int = 13
    public const val SESSION_UPDATE: Int = 14
    public const val MEDIA_SINK_WANTS: Int = 15
    public const val VOICE_BACKEND_VERSION: Int = 16
    public const val CHANNEL_OPTIONS_UPDATE: Int = 17
    public const val CLIENT_FLAGS: Int = 18
    public const val SPEED_TEST: Int = 19
    public const val CLIENT_PLATFORM: Int = 20
    public const val DAVE_PREPARE_TRANSITION: Int = 21
    public const val DAVE_EXECUTE_TRANSITION: Int = 22
    public const val DAVE_TRANSITION_READY: Int = 23
    public const val DAVE_PREPARE_EPOCH: Int = 24
    public const val DAVE_MLS_EXTERNAL_SENDER: Int = 25
    public const val DAVE_MLS_KEY_PACKAGE: Int = 26
    public const val DAVE_MLS_PROPOSALS: Int = 27
    public const val DAVE_MLS_COMMIT_WELCOME: Int = 28
    public const val DAVE_MLS_ANNOUNCE_COMMIT_TRANSITION: Int = 29
    public const val DAVE_MLS_WELCOME: Int = 30
    public const val DAVE_MLS_INVALID_COMMIT_WELCOME: Int = 31
}
