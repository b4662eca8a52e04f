//! Headless Chromium driven through chromedriver (Debian's `chromium` and `chromium-driver`,
//! installed by `scripts/browser`). Without chromedriver a test skips, saying so; with `CI` or
//! `CONSOLE_REQUIRE_BROWSER` set it fails instead, so CI cannot pass without running them.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether pages may run JavaScript.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scripts {
    On,
    Off,
}

/// A browser session; `close` it (chromedriver is killed when it drops).
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _killed = self.driver.kill();
        let _reaped = self.driver.wait();
    }
}

impl Browser {
    /// A fresh headless Chromium, or `None` (with the reason printed) when it is not installed
    /// and not required.
    pub(crate) async fn start() -> Option<Browser> {
        Browser::start_with(Scripts::On).await
    }

    /// A browser with JavaScript on or off.
    pub(crate) async fn start_with(scripts: Scripts) -> Option<Browser> {
        let installed = [CHROMEDRIVER, CHROMIUM]
            .iter()
            .all(|p| std::path::Path::new(p).exists());
        if !installed {
            let required = ["CI", "CONSOLE_REQUIRE_BROWSER"]
                .iter()
                .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
            assert!(
                !required,
                "{CHROMEDRIVER} or {CHROMIUM} is missing and CI/CONSOLE_REQUIRE_BROWSER is set: run scripts/browser"
            );
            eprintln!(
                "SKIPPED: console browser test: {CHROMEDRIVER} or {CHROMIUM} missing (run scripts/browser; set CONSOLE_REQUIRE_BROWSER=1 to fail instead)"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,900",
            "--lang=en-GB",
        ];
        if let Scripts::Off = scripts {
            args.push("--blink-settings=scriptEnabled=false");
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen: retry the session request, bounded.
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => return Some(Browser { client, driver }),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no WebDriver session from chromedriver on {url}: {last:?}");
    }

    pub(crate) async fn close(self) {
        let _closed = self.client.clone().close().await;
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    /// The element matching `css`, waiting for it to appear (a page load after a click).
    pub(crate) async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no `{css}` on the page: {e}"))
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("element text")
    }

    pub(crate) async fn fill(&self, css: &str, value: &str) {
        self.find(css).await.send_keys(value).await.expect("typing");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    pub(crate) async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .to_string()
    }

    pub(crate) async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, Vec::new())
            .await
            .expect("script runs")
    }

    /// Saves a screenshot as `<name>.png`: into `docs/console/` when
    /// `CONSOLE_SCREENSHOTS=1` (to refresh the documentation), else a temp directory.
    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = if std::env::var("CONSOLE_SCREENSHOTS").as_deref() == Ok("1") {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/console")
        } else {
            std::env::temp_dir().join("so-console-screenshots")
        };
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }

    /// Logs in with `name` and `token` from the login page.
    pub(crate) async fn log_in(&self, ops: &str, name: &str, token: &str) {
        self.goto(&format!("{ops}/console/login")).await;
        self.fill("#name", name).await;
        self.fill("#token", token).await;
        self.click("#login").await;
        // The answer: a logged-in page or the refusal (neither is on the login form).
        self.find("#logout, #login-error").await;
    }
}
