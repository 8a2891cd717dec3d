"""Speech: decoding recordings, the default Whisper model, recognition per channel, the transcript cache."""
