//! AMQP 0-9-1 frames for the publishing connection ([`crate::publish_conn`]):
//! what it writes (methods, a publish with its content) and what it reads.
//! amq-protocol (lapin's own codec) serialises and parses methods and
//! content headers; body frames are plain bytes and written here.

use amq_protocol::frame::{AMQPContentHeader, AMQPFrame, gen_frame, parse_frame};
use amq_protocol::protocol::{AMQPClass, basic};
use lapin::BasicProperties;

const FRAME_METHOD: u8 = 1;
const FRAME_HEADER: u8 = 2;
const FRAME_BODY: u8 = 3;
const FRAME_HEARTBEAT: u8 = 8;
const FRAME_END: u8 = 0xCE;
/// Type, channel and size before a frame's payload, and its end marker.
const FRAME_OVERHEAD: usize = 8;
/// The basic class, whose content a publish carries.
const BASIC_CLASS: u16 = 60;

/// The protocol header a client opens with (AMQP 0-9-1).
pub(crate) const PROTOCOL_HEADER: &[u8] = b"AMQP\x00\x00\x09\x01";

/// A heartbeat frame (channel 0, empty payload).
pub(crate) const HEARTBEAT: &[u8] = &[FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END];

/// A frame that could not be written or read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("AMQP framing: {0}")]
pub(crate) struct FrameError(pub(crate) String);

/// Appends `frame` to `buf`.
fn put(buf: &mut Vec<u8>, frame: &AMQPFrame) -> Result<(), FrameError> {
    let written = gen_frame(frame)(std::mem::take(buf).into())
        .map_err(|e| FrameError(format!("cannot serialise a frame: {e}")))?;
    *buf = written.write;
    Ok(())
}

/// Appends the method frame of `method` on `channel`.
pub(crate) fn put_method(
    buf: &mut Vec<u8>,
    channel: u16,
    method: AMQPClass,
) -> Result<(), FrameError> {
    put(buf, &AMQPFrame::Method(channel, method))
}

/// What to publish, and how.
#[derive(Debug)]
pub(crate) struct Publish<'a> {
    pub(crate) exchange: &'a str,
    pub(crate) routing_key: &'a str,
    pub(crate) mandatory: bool,
    pub(crate) properties: Properties,
    pub(crate) body: &'a [u8],
}

/// A message's properties: built, or already written as a content
/// header's property flags and list ([`crate::event_header`]).
#[derive(Debug)]
pub(crate) enum Properties {
    Built(Box<BasicProperties>),
    Encoded(Vec<u8>),
}

/// The frames of one publish on `channel`: the method, the content header
/// and the body in frames of at most `frame_max` bytes.
pub(crate) fn publish_frames(
    channel: u16,
    publish: Publish<'_>,
    frame_max: u32,
) -> Result<Vec<u8>, FrameError> {
    let body = publish.body;
    let mut buf = Vec::with_capacity(body.len() + 512);
    let method = basic::Publish {
        exchange: publish.exchange.into(),
        routing_key: publish.routing_key.into(),
        mandatory: publish.mandatory,
        immediate: false,
    };
    put_method(
        &mut buf,
        channel,
        AMQPClass::Basic(basic::AMQPMethod::Publish(method)),
    )?;
    match publish.properties {
        Properties::Built(properties) => {
            let header = AMQPContentHeader {
                class_id: BASIC_CLASS,
                body_size: body.len() as u64,
                properties: *properties,
            };
            put(&mut buf, &AMQPFrame::Header(channel, header))?;
        }
        Properties::Encoded(properties) => {
            // Class, weight and body size, then the properties.
            let size = 2 + 2 + 8 + properties.len();
            buf.push(FRAME_HEADER);
            buf.extend_from_slice(&channel.to_be_bytes());
            buf.extend_from_slice(&(size as u32).to_be_bytes());
            buf.extend_from_slice(&BASIC_CLASS.to_be_bytes());
            buf.extend_from_slice(&0u16.to_be_bytes());
            buf.extend_from_slice(&(body.len() as u64).to_be_bytes());
            buf.extend_from_slice(&properties);
            buf.push(FRAME_END);
        }
    }
    let room = (frame_max as usize).saturating_sub(FRAME_OVERHEAD).max(1);
    for chunk in body.chunks(room) {
        buf.push(FRAME_BODY);
        buf.extend_from_slice(&channel.to_be_bytes());
        buf.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        buf.extend_from_slice(chunk);
        buf.push(FRAME_END);
    }
    Ok(buf)
}

/// A frame received from the broker, with only what the publisher needs.
#[derive(Debug)]
pub(crate) enum Incoming {
    Method(u16, Box<AMQPClass>),
    /// A content header: its channel and body size.
    Header(u16, u64),
    /// A body frame: its channel and payload size.
    Body(u16, u64),
    Heartbeat,
}

/// The first complete frame of `buf` and the bytes it takes, or `None`
/// while it is incomplete.
pub(crate) fn next_frame(buf: &[u8]) -> Result<Option<(Incoming, usize)>, FrameError> {
    let Some(head) = buf.get(..7) else {
        return Ok(None);
    };
    let channel = u16::from_be_bytes([head[1], head[2]]);
    let size = u32::from_be_bytes([head[3], head[4], head[5], head[6]]);
    let len = size as usize + FRAME_OVERHEAD;
    let Some(frame) = buf.get(..len) else {
        return Ok(None);
    };
    if frame[len - 1] != FRAME_END {
        return Err(FrameError("a frame does not end with 0xCE".to_owned()));
    }
    let incoming = match head[0] {
        FRAME_METHOD | FRAME_HEADER => match parse_frame(frame) {
            Ok((_, AMQPFrame::Method(channel, method))) => {
                Incoming::Method(channel, Box::new(method))
            }
            Ok((_, AMQPFrame::Header(channel, header))) => {
                Incoming::Header(channel, header.body_size)
            }
            Ok((_, other)) => return Err(FrameError(format!("unexpected frame {other}"))),
            Err(e) => return Err(FrameError(format!("cannot parse a frame: {e}"))),
        },
        FRAME_BODY => Incoming::Body(channel, u64::from(size)),
        FRAME_HEARTBEAT => Incoming::Heartbeat,
        other => return Err(FrameError(format!("unknown frame type {other}"))),
    };
    Ok(Some((incoming, len)))
}

#[cfg(test)]
mod tests {
    use amq_protocol::protocol::confirm;

    use super::*;

    fn frames(mut buf: &[u8]) -> Vec<Incoming> {
        let mut out = Vec::new();
        while let Some((frame, len)) = next_frame(buf).unwrap() {
            out.push(frame);
            buf = &buf[len..];
        }
        assert!(buf.is_empty(), "{} bytes left", buf.len());
        out
    }

    #[test]
    fn a_publish_is_its_method_header_and_body_frames() {
        let body = vec![7u8; 300];
        let publish = Publish {
            exchange: "x",
            routing_key: "work.1",
            mandatory: true,
            properties: Properties::Built(Box::new(
                BasicProperties::default().with_delivery_mode(2),
            )),
            body: &body,
        };
        let buf = publish_frames(3, publish, 136).unwrap();
        let read = frames(&buf);
        assert!(matches!(
            &read[0],
            Incoming::Method(3, m) if matches!(**m, AMQPClass::Basic(basic::AMQPMethod::Publish(ref p)) if p.mandatory && p.routing_key.as_str() == "work.1")
        ));
        assert!(matches!(read[1], Incoming::Header(3, 300)));
        let sizes: Vec<u64> = read[2..]
            .iter()
            .map(|f| match f {
                Incoming::Body(3, n) => *n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sizes, [128, 128, 44]);
    }

    #[test]
    fn incomplete_frames_wait_for_more_bytes() {
        let mut buf = Vec::new();
        let select = confirm::Select { nowait: false };
        put_method(
            &mut buf,
            1,
            AMQPClass::Confirm(confirm::AMQPMethod::Select(select)),
        )
        .unwrap();
        buf.extend_from_slice(HEARTBEAT);
        for cut in 0..buf.len() {
            let first = next_frame(&buf[..cut]).unwrap();
            assert_eq!(first.is_some(), cut >= buf.len() - HEARTBEAT.len(), "{cut}");
        }
        assert_eq!(frames(&buf).len(), 2);
        let mut broken = HEARTBEAT.to_vec();
        broken[7] = 0;
        assert!(next_frame(&broken).is_err());
    }

    #[test]
    fn an_empty_body_has_no_body_frame() {
        let publish = Publish {
            exchange: "",
            routing_key: "q",
            mandatory: false,
            properties: Properties::Built(Box::default()),
            body: &[],
        };
        let read = frames(&publish_frames(1, publish, 4096).unwrap());
        assert_eq!(read.len(), 2);
    }
}
