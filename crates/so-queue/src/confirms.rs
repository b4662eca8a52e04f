//! The publisher confirms a channel waits for, matched to the broker's
//! `basic.ack` and `basic.nack` by delivery tag.
//!
//! A message the broker returned as unroutable (`basic.return` with its
//! content) is confirmed too; as in lapin, the return is charged to the
//! next publish the channel settles, which then counts as returned (not
//! stored) even when acked.

use std::collections::VecDeque;

use tokio::sync::oneshot;

/// What became of one publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Acked,
    Nacked,
    /// Acked, but returned as unroutable before that.
    Returned,
    /// The channel or connection closed before the broker answered.
    Failed(String),
}

/// One channel's delivery tags and the publishes waiting on them.
#[derive(Debug, Default)]
pub(crate) struct ChannelConfirms {
    last_tag: u64,
    /// In tag order: tags are given in the order the frames are written.
    pending: VecDeque<(u64, oneshot::Sender<Outcome>)>,
    /// Returned messages not yet charged to a settled publish.
    returned: usize,
    /// Body bytes still to come of a message being returned, once its
    /// content header arrived; `Some(None)` before that.
    returning: Option<Option<u64>>,
}

impl ChannelConfirms {
    /// Gives the next delivery tag to a publish about to be written.
    pub(crate) fn register(&mut self, confirm: oneshot::Sender<Outcome>) {
        self.last_tag += 1;
        self.pending.push_back((self.last_tag, confirm));
    }

    /// `basic.ack` (`acked`) or `basic.nack` for `tag`, or for every
    /// pending tag up to it with `multiple` (all of them for tag 0).
    pub(crate) fn settle(&mut self, tag: u64, multiple: bool, acked: bool) {
        if multiple {
            while let Some((t, _)) = self.pending.front() {
                if tag != 0 && *t > tag {
                    break;
                }
                if let Some((_, confirm)) = self.pending.pop_front() {
                    self.complete(confirm, acked);
                }
            }
        } else if let Ok(i) = self.pending.binary_search_by_key(&tag, |(t, _)| *t)
            && let Some((_, confirm)) = self.pending.remove(i)
        {
            self.complete(confirm, acked);
        }
    }

    fn complete(&mut self, confirm: oneshot::Sender<Outcome>, acked: bool) {
        let returned = self.returned > 0;
        if returned {
            self.returned -= 1;
        }
        let outcome = match (acked, returned) {
            (true, false) => Outcome::Acked,
            (true, true) => Outcome::Returned,
            (false, _) => Outcome::Nacked,
        };
        // The publisher may have given up waiting (timeout): nothing to tell.
        let _gone = confirm.send(outcome);
    }

    /// `basic.return`: its content follows.
    pub(crate) fn return_started(&mut self) {
        self.returning = Some(None);
    }

    /// A content header on this channel; only a returned message has one.
    pub(crate) fn content_header(&mut self, body_size: u64) {
        if self.returning.is_some() {
            self.returning = Some(Some(body_size));
            self.content_body(0);
        }
    }

    /// `size` bytes of content body.
    pub(crate) fn content_body(&mut self, size: u64) {
        if let Some(Some(left)) = self.returning {
            let left = left.saturating_sub(size);
            if left == 0 {
                self.returning = None;
                self.returned += 1;
            } else {
                self.returning = Some(Some(left));
            }
        }
    }

    /// Fails every pending publish (the channel or connection is gone).
    pub(crate) fn fail_all(&mut self, why: &str) {
        for (_, confirm) in self.pending.drain(..) {
            let _gone = confirm.send(Outcome::Failed(why.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(c: &mut ChannelConfirms) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        c.register(tx);
        rx
    }

    fn settled(rx: &mut oneshot::Receiver<Outcome>) -> Option<Outcome> {
        rx.try_recv().ok()
    }

    #[test]
    fn acks_and_nacks_settle_their_tags_single_or_multiple() {
        let mut c = ChannelConfirms::default();
        let mut rx: Vec<_> = (0..5).map(|_| publish(&mut c)).collect();
        c.settle(2, false, true);
        assert_eq!(settled(&mut rx[1]), Some(Outcome::Acked));
        assert_eq!(settled(&mut rx[0]), None);
        c.settle(3, true, false);
        assert_eq!(settled(&mut rx[0]), Some(Outcome::Nacked));
        assert_eq!(settled(&mut rx[2]), Some(Outcome::Nacked));
        assert_eq!(settled(&mut rx[3]), None);
        c.settle(9, false, true);
        assert_eq!(settled(&mut rx[3]), None, "unknown tags are ignored");
        c.settle(0, true, true);
        assert_eq!(settled(&mut rx[3]), Some(Outcome::Acked));
        assert_eq!(settled(&mut rx[4]), Some(Outcome::Acked));
    }

    #[test]
    fn a_returned_message_is_charged_to_the_next_settled_publish() {
        let mut c = ChannelConfirms::default();
        let mut rx: Vec<_> = (0..3).map(|_| publish(&mut c)).collect();
        c.return_started();
        c.content_header(10);
        c.content_body(4);
        c.settle(1, false, true);
        assert_eq!(
            settled(&mut rx[0]),
            Some(Outcome::Acked),
            "return incomplete"
        );
        c.content_body(6);
        c.settle(2, false, true);
        assert_eq!(settled(&mut rx[1]), Some(Outcome::Returned));
        c.return_started();
        c.content_header(0);
        c.fail_all("gone");
        assert_eq!(settled(&mut rx[2]), Some(Outcome::Failed("gone".into())));
    }
}
