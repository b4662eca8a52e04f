//! The console's HTML pages in the `console` benchmark: an operator's session opened as a
//! browser opens it (the login form's double-submit cookie and token, then the admin token),
//! then the Shops page, a Shop page and the Dead letters page (first page, a filtered page, a
//! deep page) fetched in turn, one request at a time, each answer read to its end.

use std::time::Instant;

use anyhow::Context as _;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

use crate::stats::Latencies;

/// The pages timed, in the order they are fetched round after round.
pub(crate) const PAGES: [&str; 5] = [
    "shops",
    "shop",
    "letters_first",
    "letters_filtered",
    "letters_deep",
];

/// The path of each of [`PAGES`] for a run with `shops` shops and `letters` dead letters.
fn paths(shops: usize, letters: usize, shop: &dyn Fn(usize) -> String) -> [String; 5] {
    // The last full page of the console's 100 a page: as deep as paging goes.
    let deep = letters.saturating_sub(1) / 100 * 100;
    [
        "/console/".to_owned(),
        format!("/console/shops/{}", shop(shops / 2)),
        "/console/dead-letters".to_owned(),
        format!(
            "/console/dead-letters?queue=dead_letter&reason=retries_exhausted&topic=&shop={}\
             &since=2000-01-01T00%3A00&until=2100-01-01T00%3A00",
            shop(shops / 3)
        ),
        format!("/console/dead-letters?queue=dead_letter&offset={deep}"),
    ]
}

/// A value of `name` among `res`'s cookies.
fn cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next()?.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// Logs in as `bench` with `token`; the session's `Cookie` header.
pub(crate) async fn log_in(
    client: &reqwest::Client,
    base: &str,
    token: &str,
) -> anyhow::Result<String> {
    let login = so_console::session::LOGIN_COOKIE;
    let res = client.get(format!("{base}/console/login")).send().await?;
    let double = cookie(&res, login).context("no login cookie")?;
    let html = res.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no CSRF token on the login page")?
        .to_owned();
    // Both tokens are URL-safe base64 and the admin token is the bench's own: no escaping.
    let res = client
        .post(format!("{base}/console/login"))
        .header(COOKIE, format!("{login}={double}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}&name=bench&token={token}"))
        .send()
        .await?;
    anyhow::ensure!(
        res.status().is_redirection() && res.headers().get(LOCATION).is_some(),
        "login refused: {}",
        res.status()
    );
    let session = cookie(&res, so_console::session::COOKIE).context("no session cookie")?;
    Ok(format!("{}={session}", so_console::session::COOKIE))
}

/// `rounds` fetches of each page with the session `cookie`; latencies per page, in
/// [`PAGES`]' order. A page that is not a 200 with the console's HTML stops the run.
pub(crate) async fn time_pages(
    client: &reqwest::Client,
    base: &str,
    cookie: &str,
    rounds: usize,
    (shops, letters, ledger_rows): (usize, usize, usize),
    shop: &dyn Fn(usize) -> String,
) -> anyhow::Result<Vec<(&'static str, Latencies)>> {
    // With a ledger row for every shop, each shop's line shows its last webhook.
    let times = if ledger_rows >= shops { shops } else { 0 };
    let paths = paths(shops, letters, shop);
    let last_shop = shop(shops.saturating_sub(1));
    let mut each: Vec<Vec<u32>> = vec![Vec::with_capacity(rounds); PAGES.len()];
    for _ in 0..rounds {
        for (k, p) in paths.iter().enumerate() {
            let started = Instant::now();
            let res = client
                .get(format!("{base}{p}"))
                .header(COOKIE, cookie)
                .send()
                .await?;
            let status = res.status();
            let body = res.text().await?;
            each[k].push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
            anyhow::ensure!(
                status.is_success() && body.contains("id=\"logout\""),
                "{p}: {status}, not a logged-in page"
            );
            // A letters page that lists nothing, or a Shops page without every shop, would
            // time less than the issue asks.
            anyhow::ensure!(
                !PAGES[k].starts_with("letters") || body.contains("data-id="),
                "{p}: no letters listed"
            );
            anyhow::ensure!(
                PAGES[k] != "shops" || body.contains(&last_shop),
                "{p}: {last_shop} not listed"
            );
            anyhow::ensure!(
                PAGES[k] != "shops"
                    || (body.contains("id=\"lag\"")
                        && body.matches("<time datetime").count() >= times),
                "{p}: not every shop's last webhook shown"
            );
        }
    }
    Ok(PAGES
        .iter()
        .copied()
        .zip(each.into_iter().map(Latencies::from_unsorted))
        .collect())
}

/// `[shops."..."]` tables for `n` shops: the Shops page lists the shops served.
pub(crate) fn shops_toml(n: usize, shop: &dyn Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[shops.\"{}\"]\nwebhook_secrets = [\"bench-secret\"]\n\n",
                shop(i)
            )
        })
        .collect()
}
