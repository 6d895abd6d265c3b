//! Packets: pyspeak's four-value message, an integer, a real number, a
//! boolean and a text, carried as the payload of one frame ([`super::frame`]).
//!
//! Payload layout (all big-endian):
//!
//! | bytes | field                                   |
//! |-------|-----------------------------------------|
//! | 8     | integer, `i64`                          |
//! | 8     | real, `f64` bits                        |
//! | 1     | boolean, `0` or `1` (anything else is an error) |
//! | rest  | text, UTF-8, to the end of the frame   |
//!
//! The text is bounded only by the maximum frame length (pyspeak's 1000
//! characters is not a limit here). Decoding borrows the text from the
//! received bytes ([`PacketRef`]); [`Packet`] is the owned form.
//!
//! ```
//! use frameloop::codec::packet::{Packet, PacketRef};
//!
//! let sent = Packet { integer: 7, real: 2.5, boolean: true, text: "hi".into() };
//! let mut payload = Vec::new();
//! sent.as_ref().write_payload(&mut payload);
//! let got = PacketRef::parse(&payload).unwrap();
//! assert_eq!(got.text, "hi");
//! assert_eq!(got.to_owned(), sent);
//! ```

use super::{frame, DecodeError};

/// Bytes before the text: integer, real and boolean.
///
/// ```
/// use frameloop::codec::packet::{PacketRef, FIXED_LEN};
///
/// let p = PacketRef { integer: 1, real: 0.5, boolean: false, text: "abc" };
/// assert_eq!(p.payload_len(), FIXED_LEN + 3);
/// ```
pub const FIXED_LEN: usize = 8 + 8 + 1;

/// A packet that borrows its text from the bytes it was decoded from.
///
/// ```
/// use frameloop::codec::packet::{self, PacketRef};
///
/// let mut wire = Vec::new();
/// PacketRef { integer: -3, real: 1.5, boolean: true, text: "héllo" }.encode(&mut wire).unwrap();
/// let (got, used) = packet::decode(&wire, 1024).unwrap().unwrap();
/// assert_eq!((got.integer, got.real, got.boolean, got.text), (-3, 1.5, true, "héllo"));
/// assert_eq!(used, wire.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacketRef<'a> {
    /// The integer value (pyspeak's `data[0]`).
    pub integer: i64,
    /// The real value (pyspeak's `data[1]`).
    pub real: f64,
    /// The boolean value (pyspeak's `data[2]`).
    pub boolean: bool,
    /// The text (pyspeak's `data[3]`).
    pub text: &'a str,
}

/// A packet that owns its text.
///
/// ```
/// use frameloop::Packet;
///
/// let p = Packet { integer: 42, text: "answer".into(), ..Packet::default() };
/// assert_eq!((p.real, p.boolean), (0.0, false));
/// let mut wire = Vec::new();
/// p.as_ref().encode(&mut wire).unwrap();
/// assert_eq!(frameloop::codec::packet::decode(&wire, 1024).unwrap().unwrap().0.to_owned(), p);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packet {
    /// The integer value.
    pub integer: i64,
    /// The real value.
    pub real: f64,
    /// The boolean value.
    pub boolean: bool,
    /// The text.
    pub text: String,
}

impl<'a> PacketRef<'a> {
    /// Parses a frame payload as a packet.
    ///
    /// ```
    /// use frameloop::PacketRef;
    ///
    /// let mut payload = Vec::new();
    /// payload.extend_from_slice(&7i64.to_be_bytes());
    /// payload.extend_from_slice(&2.5f64.to_be_bytes());
    /// payload.push(1);
    /// payload.extend_from_slice(b"hi");
    /// let p = PacketRef::parse(&payload).unwrap();
    /// assert_eq!((p.integer, p.real, p.boolean, p.text), (7, 2.5, true, "hi"));
    /// assert!(PacketRef::parse(&payload[..10]).is_err()); // shorter than the fixed part
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError::Malformed`] when the payload is shorter than
    /// [`FIXED_LEN`], the boolean byte is neither 0 nor 1, or the text is not
    /// UTF-8.
    pub fn parse(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let Some((fixed, text)) = payload.split_first_chunk::<FIXED_LEN>() else {
            return Err(DecodeError::Malformed("packet shorter than its 17 fixed bytes"));
        };
        let (int_bytes, rest) = fixed.split_at(8);
        let (real_bytes, bool_byte) = rest.split_at(8);
        let mut int_buf = [0u8; 8];
        int_buf.copy_from_slice(int_bytes);
        let mut real_buf = [0u8; 8];
        real_buf.copy_from_slice(real_bytes);
        let boolean = match bool_byte {
            [0] => false,
            [1] => true,
            _ => return Err(DecodeError::Malformed("packet boolean is neither 0 nor 1")),
        };
        let text = std::str::from_utf8(text).map_err(|_| DecodeError::Malformed("packet text is not valid UTF-8"))?;
        Ok(PacketRef {
            integer: i64::from_be_bytes(int_buf),
            real: f64::from_bits(u64::from_be_bytes(real_buf)),
            boolean,
            text,
        })
    }

    /// The payload length this packet encodes to.
    ///
    /// ```
    /// use frameloop::PacketRef;
    ///
    /// let p = PacketRef { integer: 0, real: 0.0, boolean: false, text: "hi" };
    /// let mut payload = Vec::new();
    /// p.write_payload(&mut payload);
    /// assert_eq!(p.payload_len(), payload.len());
    /// assert_eq!(p.payload_len(), 17 + 2);
    /// ```
    pub fn payload_len(&self) -> usize {
        FIXED_LEN + self.text.len()
    }

    /// The fixed part of the payload: integer, real and boolean.
    ///
    /// ```
    /// use frameloop::PacketRef;
    ///
    /// let fixed = PacketRef { integer: 1, real: 0.0, boolean: true, text: "ignored" }.fixed_bytes();
    /// assert_eq!(&fixed[..8], &1i64.to_be_bytes());
    /// assert_eq!(fixed[16], 1);
    /// ```
    pub fn fixed_bytes(&self) -> [u8; FIXED_LEN] {
        let mut out = [0u8; FIXED_LEN];
        out[..8].copy_from_slice(&self.integer.to_be_bytes());
        out[8..16].copy_from_slice(&self.real.to_bits().to_be_bytes());
        out[16] = u8::from(self.boolean);
        out
    }

    /// Appends the payload (without a frame header) to `out`.
    ///
    /// ```
    /// use frameloop::PacketRef;
    ///
    /// let p = PacketRef { integer: 5, real: -1.0, boolean: false, text: "x" };
    /// let mut payload = Vec::new();
    /// p.write_payload(&mut payload); // no frame header
    /// assert_eq!(payload.len(), 18);
    /// assert_eq!(PacketRef::parse(&payload), Ok(p));
    /// ```
    pub fn write_payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.fixed_bytes());
        out.extend_from_slice(self.text.as_bytes());
    }

    /// Appends the packet as one whole frame (header and payload) to `out`.
    ///
    /// ```
    /// use frameloop::PacketRef;
    ///
    /// let mut wire = Vec::new();
    /// PacketRef { integer: 5, real: -1.0, boolean: false, text: "x" }.encode(&mut wire).unwrap();
    /// assert_eq!(&wire[..4], &[0, 0, 0, 18]); // a frame header, then the 18-byte payload
    /// assert_eq!(wire.len(), 4 + 18);
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError::FrameTooLarge`] when the text is so long the payload
    /// does not fit a frame header; `out` is left untouched.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), DecodeError> {
        out.extend_from_slice(&frame::header(self.payload_len())?);
        self.write_payload(out);
        Ok(())
    }

    /// Copies the text into an owned [`Packet`].
    ///
    /// ```
    /// use frameloop::{Packet, PacketRef};
    ///
    /// let text = String::from("borrowed");
    /// let owned: Packet = PacketRef { integer: 1, real: 2.0, boolean: true, text: &text }.to_owned();
    /// drop(text);
    /// assert_eq!(owned.text, "borrowed");
    /// ```
    #[allow(clippy::wrong_self_convention)]
    pub fn to_owned(&self) -> Packet {
        Packet { integer: self.integer, real: self.real, boolean: self.boolean, text: self.text.to_owned() }
    }
}

impl Packet {
    /// Borrows this packet as a [`PacketRef`], the form every encoder takes.
    ///
    /// ```
    /// use frameloop::Packet;
    ///
    /// let p = Packet { integer: 9, real: 0.25, boolean: true, text: "nine".into() };
    /// let r = p.as_ref();
    /// assert_eq!((r.integer, r.text), (9, "nine"));
    /// assert_eq!(r.to_owned(), p);
    /// ```
    pub fn as_ref(&self) -> PacketRef<'_> {
        PacketRef { integer: self.integer, real: self.real, boolean: self.boolean, text: &self.text }
    }
}

/// Decodes the first packet of a framed stream: a frame, then its payload as
/// a packet.
///
/// ```
/// use frameloop::codec::packet;
/// use frameloop::PacketRef;
///
/// let mut wire = Vec::new();
/// PacketRef { integer: 1, real: 1.0, boolean: true, text: "a" }.encode(&mut wire).unwrap();
/// let (p, used) = packet::decode(&wire, 1024).unwrap().unwrap();
/// assert_eq!((p.text, used), ("a", wire.len()));
/// assert_eq!(packet::decode(&wire[..5], 1024), Ok(None)); // need more bytes
/// ```
///
/// # Errors
///
/// Those of [`frame::decode`] and [`PacketRef::parse`].
pub fn decode(buf: &[u8], max_len: usize) -> Result<Option<(PacketRef<'_>, usize)>, DecodeError> {
    match frame::decode(buf, max_len)? {
        Some((payload, used)) => Ok(Some((PacketRef::parse(payload)?, used))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Packet {
        Packet { integer: -42, real: 3.25, boolean: true, text: "héllo".into() }
    }

    #[test]
    fn round_trip_through_a_frame() {
        let mut wire = Vec::new();
        sample().as_ref().encode(&mut wire).unwrap();
        let (got, used) = decode(&wire, 1024).unwrap().unwrap();
        assert_eq!(used, wire.len());
        assert_eq!(got.to_owned(), sample());
    }

    #[test]
    fn empty_text_and_extreme_values_round_trip() {
        for p in [
            Packet { integer: i64::MIN, real: f64::NEG_INFINITY, boolean: false, text: String::new() },
            Packet { integer: i64::MAX, real: f64::MIN_POSITIVE, boolean: true, text: "x".repeat(5000) },
        ] {
            let mut payload = Vec::new();
            p.as_ref().write_payload(&mut payload);
            assert_eq!(payload.len(), p.as_ref().payload_len());
            assert_eq!(PacketRef::parse(&payload).unwrap().to_owned(), p);
        }
    }

    #[test]
    fn short_payloads_are_malformed() {
        for len in 0..FIXED_LEN {
            assert!(matches!(PacketRef::parse(&vec![0; len]), Err(DecodeError::Malformed(_))));
        }
        assert!(PacketRef::parse(&[0; FIXED_LEN]).is_ok());
    }

    #[test]
    fn a_boolean_byte_other_than_0_or_1_is_malformed() {
        let mut payload = [0u8; FIXED_LEN];
        payload[16] = 2;
        assert!(matches!(PacketRef::parse(&payload), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn invalid_utf8_text_is_malformed() {
        let mut payload = vec![0u8; FIXED_LEN];
        payload.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(PacketRef::parse(&payload), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn nan_survives_bit_for_bit() {
        let p = Packet { real: f64::NAN, ..Packet::default() };
        let mut payload = Vec::new();
        p.as_ref().write_payload(&mut payload);
        assert!(PacketRef::parse(&payload).unwrap().real.is_nan());
    }
}
