//! An entity's rows, read from a bulk result or page by page, and the
//! page marks a paginated run resumes from.

use so_shopify_admin::BulkParent;

use crate::SyncError;

/// Fetches one page: `(after, filter)`.
pub type PageFetch<T> = Box<
    dyn Fn(
            Option<String>,
            Option<String>,
        ) -> futures::future::BoxFuture<
            'static,
            Result<so_shopify_admin::Page<T>, so_shopify_admin::AdminError>,
        > + Send
        + Sync,
>;

/// Where a paginated run stands: the row index at the start of a page and
/// the cursor that fetches it (`None`: the first page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PageMark {
    pub(super) start_index: u64,
    pub(super) cursor: Option<String>,
}

impl PageMark {
    pub(super) const START: PageMark = PageMark {
        start_index: 0,
        cursor: None,
    };

    /// Stored in the checkpoint's operation column as `page:<index>:<cursor>`.
    pub(super) fn to_text(&self) -> String {
        format!(
            "page:{}:{}",
            self.start_index,
            self.cursor.as_deref().unwrap_or_default()
        )
    }

    pub(super) fn parse(raw: &str) -> Option<PageMark> {
        let rest = raw.strip_prefix("page:")?;
        let (index, cursor) = rest.split_once(':')?;
        Some(PageMark {
            start_index: index.parse().ok()?,
            cursor: (!cursor.is_empty()).then(|| cursor.to_owned()),
        })
    }
}

/// The rows of an entity, from a bulk result or from pages.
pub(super) enum Rows<T> {
    Bulk(so_shopify_admin::BulkRows<T>),
    Pages {
        fetch: PageFetch<T>,
        filter: Option<String>,
        /// The next page to fetch, `None` once the last was fetched.
        next: Option<PageMark>,
        buffer: std::collections::VecDeque<T>,
        /// Pages fetched whose rows may still be in flight, oldest first.
        marks: std::collections::VecDeque<PageMark>,
        first_index: u64,
    },
}

impl<T: BulkParent> Rows<T> {
    pub(super) fn pages(
        fetch: PageFetch<T>,
        filter: Option<String>,
        from: Option<PageMark>,
    ) -> Rows<T> {
        let from = from.unwrap_or(PageMark::START);
        Rows::Pages {
            fetch,
            filter,
            first_index: from.start_index,
            next: Some(from),
            buffer: std::collections::VecDeque::new(),
            marks: std::collections::VecDeque::new(),
        }
    }

    /// The index of the row before the first one this source yields.
    pub(super) fn first_index(&self) -> u64 {
        match self {
            Rows::Bulk(_) => 0,
            Rows::Pages { first_index, .. } => *first_index,
        }
    }

    pub(super) async fn next(&mut self) -> Result<Option<T>, SyncError> {
        match self {
            Rows::Bulk(rows) => Ok(rows.next().await?),
            Rows::Pages {
                fetch,
                filter,
                next,
                buffer,
                marks,
                ..
            } => loop {
                if let Some(row) = buffer.pop_front() {
                    return Ok(Some(row));
                }
                let Some(mark) = next.take() else {
                    return Ok(None);
                };
                let page = fetch(mark.cursor.clone(), filter.clone()).await?;
                let count = page.nodes.len() as u64;
                *next = page.next_cursor().map(|c| PageMark {
                    start_index: mark.start_index + count,
                    cursor: Some(c.to_owned()),
                });
                marks.push_back(mark);
                buffer.extend(page.nodes);
            },
        }
    }

    /// For pages: the mark of the page holding row `line` (1-based), from
    /// which a resumed run re-reads; earlier marks are dropped.
    pub(super) fn mark_for(&mut self, line: u64) -> Option<PageMark> {
        let Rows::Pages { marks, .. } = self else {
            return None;
        };
        while marks.len() > 1 && marks[1].start_index < line {
            marks.pop_front();
        }
        marks.front().cloned()
    }
}
