//! A result file streamed line by line, whatever its size.

use std::time::Duration;

use serde_json::Value;

use crate::client::AdminClient;
use crate::error::{AdminError, TransientCause};

/// A JSONL line longer than this is refused rather than buffered.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

impl AdminClient {
    /// Opens a result file for line-by-line reading. The URL is a signed
    /// storage link: the access token is *not* sent there.
    pub async fn open_bulk_result(&self, url: &str) -> Result<BulkLines, AdminError> {
        let response = self
            .download
            .get(url)
            .send()
            .await
            .map_err(|e| AdminError::Transient {
                attempts: 1,
                elapsed: Duration::ZERO,
                last: if e.is_timeout() {
                    TransientCause::Timeout(e)
                } else {
                    TransientCause::Transport(e)
                },
            })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(AdminError::Permanent {
                status,
                message: format!("bulk result download from {url} failed"),
            });
        }
        Ok(BulkLines {
            response: Some(response),
            splitter: LineSplitter::default(),
            line_no: 0,
        })
    }
}

/// One JSONL line.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkLine {
    /// `__parentId`, for rows of a nested connection.
    pub parent_id: Option<String>,
    /// The object, without `__parentId`.
    pub value: Value,
}

/// Splits a byte stream into lines, whatever the chunk boundaries.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline.
    scanned: usize,
}

impl LineSplitter {
    pub(crate) fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, without its `\n` (or `\r\n`).
    pub(crate) fn next_line(&mut self) -> Option<Vec<u8>> {
        let at = self.buf[self.scanned..].iter().position(|b| *b == b'\n')? + self.scanned;
        let mut line: Vec<u8> = self.buf.drain(..=at).collect();
        self.scanned = 0;
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }

    /// Whatever is left after the stream ended (a last line without `\n`).
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        self.scanned = 0;
        let rest = std::mem::take(&mut self.buf);
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }

    fn pending(&mut self) -> usize {
        self.scanned = self.buf.len();
        self.buf.len()
    }
}

/// A bulk result being read, one line at a time: memory use is one chunk
/// plus one line, whatever the file size.
#[derive(Debug)]
pub struct BulkLines {
    response: Option<reqwest::Response>,
    splitter: LineSplitter,
    line_no: u64,
}

impl BulkLines {
    pub(super) fn empty() -> Self {
        BulkLines {
            response: None,
            splitter: LineSplitter::default(),
            line_no: 0,
        }
    }

    /// The next line, `None` at the end.
    pub async fn next_line(&mut self) -> Result<Option<BulkLine>, AdminError> {
        loop {
            if let Some(line) = self.splitter.next_line() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return self.parse(&line).map(Some);
            }
            if self.splitter.pending() > MAX_LINE_BYTES {
                return Err(AdminError::decode(
                    "bulk result",
                    format!(
                        "line {} is longer than {MAX_LINE_BYTES} bytes",
                        self.line_no + 1
                    ),
                ));
            }
            let Some(response) = self.response.as_mut() else {
                return match self.splitter.finish() {
                    Some(line) => self.parse(&line).map(Some),
                    None => Ok(None),
                };
            };
            match response.chunk().await {
                Ok(Some(chunk)) => self.splitter.push(&chunk),
                Ok(None) => self.response = None,
                Err(e) => {
                    return Err(AdminError::Transient {
                        attempts: 1,
                        elapsed: Duration::ZERO,
                        last: if e.is_timeout() {
                            TransientCause::Timeout(e)
                        } else {
                            TransientCause::Transport(e)
                        },
                    });
                }
            }
        }
    }

    fn parse(&mut self, line: &[u8]) -> Result<BulkLine, AdminError> {
        self.line_no += 1;
        let mut value: Value = serde_json::from_slice(line).map_err(|e| {
            AdminError::decode("bulk result", format!("line {}: {e}", self.line_no))
        })?;
        let parent_id = value
            .as_object_mut()
            .and_then(|m| m.remove("__parentId"))
            .and_then(|p| p.as_str().map(str::to_owned));
        Ok(BulkLine { parent_id, value })
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> u64 {
        self.line_no
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(l) = s.next_line() {
                out.push(String::from_utf8(l).unwrap());
            }
            s.pending();
        }
        out.extend(s.finish().map(|l| String::from_utf8(l).unwrap()));
        out
    }

    #[test]
    fn lines_survive_any_chunking() {
        let text = b"{\"a\":1}\n{\"b\":\"x\\ny\"}\r\n\n{\"c\":3}";
        let expected = ["{\"a\":1}", "{\"b\":\"x\\ny\"}", "", "{\"c\":3}"];
        for size in 1..text.len() {
            let chunks: Vec<&[u8]> = text.chunks(size).collect();
            assert_eq!(split_all(&chunks), expected, "chunk size {size}");
        }
    }

    #[test]
    fn trailing_newline_leaves_nothing() {
        assert_eq!(split_all(&[b"x\n", b"y\n"]), ["x", "y"]);
    }
}
