//! The PutLogEvents request body, written as lines arrive: `{"logGroupName":…,"logStreamName":…,
//! "logEvents":[{"timestamp":…,"message":…},…]}`, each message escaped as JSON in place (eight
//! bytes at a time where nothing needs escaping), within the API's limits.

use std::borrow::Cow;
use std::io::Write as _;

use bytes::Bytes;

use cognito_learning_contract::cloudwatch::{
    EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MS, MAX_EVENT_BYTES,
};

/// A full batch's body: the messages, a backslash for every fifth byte of them, and 40 bytes of
/// framing an event. A body that outgrows it is still sent; it just moved once on the way.
pub(super) const BODY_ROOM: usize = MAX_BATCH_BYTES + MAX_BATCH_BYTES / 5 + 40 * 2048;
/// One PutLogEvents request body, written as events arrive. Written here rather than by the
/// SDK, whose serializer escapes a message a character at a time; the SDK still signs, sends and
/// retries it.
#[derive(Debug)]
pub(super) struct Batch {
    /// The body so far, without its closing `]}`.
    pub(super) json: Vec<u8>,
    pub(super) events: usize,
    /// As PutLogEvents counts them: each message's UTF-8 bytes plus 26.
    pub(super) bytes: usize,
    pub(super) first_ts: i64,
    pub(super) last_ts: i64,
}

/// The start of every body for this group and stream, up to the events.
pub(super) fn body_start(group: &str, stream: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(group.len() + stream.len() + 64);
    out.extend_from_slice(b"{\"logGroupName\":");
    json_string(&mut out, group);
    out.extend_from_slice(b",\"logStreamName\":");
    json_string(&mut out, stream);
    out.extend_from_slice(b",\"logEvents\":[");
    out
}

impl Batch {
    pub(super) fn new(start: &[u8]) -> Self {
        // Room for a full batch with its escapes and framing, so that it never moves as it grows.
        let mut json = Vec::with_capacity(BODY_ROOM + start.len());
        json.extend_from_slice(start);
        Self {
            json,
            events: 0,
            bytes: 0,
            first_ts: 0,
            last_ts: 0,
        }
    }

    pub(super) fn fits(&self, len: usize, ts: i64) -> bool {
        self.events == 0
            || (self.events < MAX_BATCH_EVENTS
                && self.bytes + len + EVENT_OVERHEAD <= MAX_BATCH_BYTES
                && ts.max(self.last_ts) - self.first_ts <= MAX_BATCH_SPAN_MS)
    }

    /// Appends an event. Its timestamp is never earlier than the one before it: PutLogEvents
    /// wants a batch in order, and concurrent requests may log a millisecond out of turn.
    pub(super) fn push(&mut self, ts: i64, msg: &str) {
        let ts = if self.events == 0 {
            self.first_ts = ts;
            ts
        } else {
            self.json.push(b',');
            ts.max(self.last_ts)
        };
        self.last_ts = ts;
        self.json.extend_from_slice(b"{\"timestamp\":");
        // Writing into a Vec cannot fail.
        let _ = write!(self.json, "{ts}");
        self.json.extend_from_slice(b",\"message\":");
        json_string(&mut self.json, msg);
        self.json.push(b'}');
        self.events += 1;
        self.bytes += msg.len() + EVENT_OVERHEAD;
    }

    /// The finished body.
    pub(super) fn into_body(mut self) -> Bytes {
        self.json.extend_from_slice(b"]}");
        Bytes::from(self.json)
    }
}

/// `s` as a JSON string, as serde_json writes it, straight into the body.
///
/// Lines are JSON themselves, with a quote every few bytes, so a byte-at-a-time loop spends its
/// time on branches it mispredicts. This reads eight bytes at a time: a word with nothing to
/// escape is one store, and each quote or backslash in it costs a backslash and one more store
/// of the word's rest. Control characters (which serde_json never leaves in a line, but a note
/// might carry) go the slow way, through serde_json.
pub(super) fn json_string(out: &mut Vec<u8>, s: &str) {
    let start = out.len();
    if !escape_words(out, s.as_bytes()) {
        out.truncate(start);
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

pub(super) const ONES: u64 = 0x0101_0101_0101_0101;
pub(super) const LOW7: u64 = ONES * 0x7f;
pub(super) const HIGH: u64 = ONES * 0x80;

/// The high bit of every byte of `x` that is zero, and no other bit.
pub(super) const fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Writes `"b"` escaped for JSON and returns true, or returns false (having written part of it)
/// when `b` holds a control character.
pub(super) fn escape_words(out: &mut Vec<u8>, b: &[u8]) -> bool {
    let start = out.len();
    // Room for every byte escaped, both quotes, and a word's overhang past the end.
    out.resize(start + 2 * b.len() + 2 + 8, 0);
    let dst = &mut out[start..];
    dst[0] = b'"';
    let mut j = 1;
    let mut control = 0;
    let mut words = b.chunks_exact(8);
    for word in &mut words {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(word);
        let w = u64::from_le_bytes(bytes);
        let mut marks =
            zero_bytes(w ^ (ONES * u64::from(b'"'))) | zero_bytes(w ^ (ONES * u64::from(b'\\')));
        // Bytes under 0x20: their low seven bits plus 0x60 stay under 0x80, and the top bit is clear.
        control |= !(((w & LOW7) + ONES * 0x60) | w) & HIGH;
        dst[j..j + 8].copy_from_slice(&bytes);
        let mut escaped = 0;
        while marks != 0 {
            let k = (marks.trailing_zeros() / 8) as usize;
            let at = j + k + escaped;
            dst[at] = b'\\';
            dst[at + 1..at + 9].copy_from_slice(&(w >> (8 * k)).to_le_bytes());
            escaped += 1;
            marks &= marks - 1;
        }
        j += 8 + escaped;
    }
    for &c in words.remainder() {
        control |= u64::from(c < 0x20);
        if c == b'"' || c == b'\\' {
            dst[j] = b'\\';
            j += 1;
        }
        dst[j] = c;
        j += 1;
    }
    dst[j] = b'"';
    out.truncate(start + j + 1);
    control == 0
}

pub(super) fn truncate(line: &str) -> Cow<'_, str> {
    if line.len() <= MAX_EVENT_BYTES {
        return Cow::Borrowed(line);
    }
    let mut cut = MAX_EVENT_BYTES - 16;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}…[truncated]", &line[..cut]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn batch() -> Batch {
        Batch::new(&body_start("g", "s"))
    }

    fn parsed(b: Batch) -> serde_json::Value {
        serde_json::from_slice(&b.into_body()).unwrap_or_default()
    }

    #[test]
    fn batches_respect_the_byte_count_with_26_bytes_an_event() {
        let mut b = batch();
        let size = 100_000 - EVENT_OVERHEAD;
        let msg = "x".repeat(size);
        for _ in 0..10 {
            assert!(b.fits(size, 1));
            b.push(1, &msg);
        }
        assert_eq!(b.bytes, 1_000_000);
        assert!(b.fits(48_576 - EVENT_OVERHEAD, 1));
        assert!(!b.fits(48_576 - EVENT_OVERHEAD + 1, 1));
    }

    #[test]
    fn batches_hold_at_most_10000_events_within_24_hours_in_order() {
        let mut b = batch();
        for i in 0..MAX_BATCH_EVENTS {
            b.push(10_000 - i as i64, "x");
        }
        assert!(!b.fits(1, 1));
        // Out of turn, an event takes the time of the one before it.
        let doc = parsed(b);
        let ts: Vec<i64> = doc["logEvents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["timestamp"].as_i64())
            .collect();
        assert_eq!(ts.len(), MAX_BATCH_EVENTS);
        assert!(ts.windows(2).all(|w| w[0] <= w[1]));
        let mut b = batch();
        b.push(0, "x");
        assert!(b.fits(1, MAX_BATCH_SPAN_MS));
        assert!(!b.fits(1, MAX_BATCH_SPAN_MS + 1));
    }

    #[test]
    fn the_put_body_is_the_documented_json_with_every_message_intact() {
        let line = r#"{"path":"/v1/secrets","tab":"\t","é":"\u{1}","q":"\"x\\"}"#;
        let mut b = Batch::new(&body_start("cognito-learning", "api \"1\""));
        b.push(1, "");
        b.push(1_764_000_000_123, line);
        b.push(1_764_000_000_124, "a\nb\u{1}\u{7f}");
        let doc = parsed(b);
        assert_eq!(doc["logGroupName"], "cognito-learning");
        assert_eq!(doc["logStreamName"], "api \"1\"");
        assert_eq!(doc["logEvents"][0], json!({"timestamp": 1, "message": ""}));
        assert_eq!(doc["logEvents"][1]["timestamp"], 1_764_000_000_123_i64);
        assert_eq!(doc["logEvents"][1]["message"], line);
        assert_eq!(doc["logEvents"][2]["message"], "a\nb\u{1}\u{7f}");
        assert_eq!(
            batch().into_body().as_ref(),
            br#"{"logGroupName":"g","logStreamName":"s","logEvents":[]}"#
        );
    }

    /// Every byte escaped is the most the escaping can write; at every length it stays in the room
    /// it makes.
    #[test]
    fn strings_of_nothing_but_escapes_fit() {
        for len in 0..40 {
            for c in ["\"", "\\", "\n"] {
                let s = c.repeat(len);
                let mut out = Vec::new();
                json_string(&mut out, &s);
                assert_eq!(out, serde_json::to_vec(&s).unwrap_or_default());
            }
        }
    }

    proptest! {
        #[test]
        fn any_string_survives_the_escaping(s in ".*") {
            let mut out = Vec::new();
            json_string(&mut out, &s);
            let back: String = serde_json::from_slice(&out).unwrap_or_default();
            prop_assert_eq!(back, s);
        }

        #[test]
        fn escaping_writes_what_serde_json_writes(s in "(?s)[a\"\\\\é\u{1}\n\u{7f}\u{1f} {}:,]{0,80}|.*") {
            let mut out = b"[".to_vec();
            json_string(&mut out, &s);
            let expected = format!("[{}", serde_json::to_string(&s).unwrap_or_default());
            prop_assert_eq!(String::from_utf8_lossy(&out), expected);
        }

        #[test]
        fn quotes_and_backslashes_survive_at_every_offset(s in "[a\"\\\\é{}:,]{0,40}") {
            let mut out = Vec::new();
            json_string(&mut out, &s);
            let back: String = serde_json::from_slice(&out).unwrap_or_default();
            prop_assert_eq!(back, s);
        }
    }

    #[test]
    fn oversized_lines_are_cut_at_a_character_boundary() {
        let line = "é".repeat(MAX_EVENT_BYTES);
        let cut = truncate(&line);
        assert!(cut.len() <= MAX_EVENT_BYTES);
        assert!(cut.ends_with("…[truncated]"));
    }
}
