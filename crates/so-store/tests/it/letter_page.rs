//! A page of the letter index agrees with its own counts while the indexer writes: the console
//! and `dlq list` show "8 matches" only over the 8 rows (CI once listed 7 rows under a count of 8).

use so_store::LetterQuery;

use crate::support::*;

on_both_backends!(a_page_and_its_counts_come_from_one_snapshot);

const ROWS: usize = 400;

async fn a_page_and_its_counts_come_from_one_snapshot(ctx: Ctx) {
    let writer = ctx.another_worker().await;
    let filling = tokio::spawn(async move {
        for n in 0..ROWS {
            let row = letter("dead_letter", &format!("k{n}"), &shop());
            writer.letters_indexed(&[row]).await.unwrap();
        }
    });
    let everything = LetterQuery {
        queue: "dead_letter".to_owned(),
        limit: 10_000,
        ..LetterQuery::default()
    };
    let by_shop = LetterQuery {
        shops: vec![shop().as_str().to_owned()],
        ..everything.clone()
    };
    let mut pages = 0;
    while !filling.is_finished() {
        for q in [&everything, &by_shop] {
            let page = ctx.store.letters(q).await.unwrap();
            let shown = page.items.len() as u64;
            assert_eq!(page.matched, shown, "count and rows of one page");
            assert_eq!(page.indexed, shown, "the queue's rows and the page's");
            pages += 1;
        }
    }
    filling.await.unwrap();
    let last = ctx.store.letters(&everything).await.unwrap();
    assert_eq!(last.items.len(), ROWS);
    // Enough reads overlapped the writes for a torn page to show.
    assert!(pages > 20, "only {pages} pages read during the writes");
}
