//! What the fuzz targets share.

use so_domain::Topic;

/// `<topic>\n<body>` (the seed corpus), else the first byte picks a topic
/// and the rest is the body. `None` for empty input.
pub fn split_topic(data: &[u8]) -> Option<(Topic, &[u8])> {
    let (&t, rest) = data.split_first()?;
    let by_byte = Topic::ALL[usize::from(t) % Topic::ALL.len()];
    Some(match data.iter().position(|b| *b == b'\n') {
        Some(nl) => match std::str::from_utf8(&data[..nl]).ok().and_then(Topic::parse) {
            Some(topic) => (topic, &data[nl + 1..]),
            None => (by_byte, rest),
        },
        None => (by_byte, rest),
    })
}
