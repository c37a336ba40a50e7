//! The headless Chromium driver of the browser tests (chromedriver through
//! fantoccini): starting it, a browser session, and the small steps the
//! tests are written in, shared by every browser test (tests/browser.rs,
//! tests/browser_safety.rs).

#![allow(dead_code)]

use super::skip;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn find_exe(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9515)
}

pub fn start_driver() -> Option<(Driver, u16, PathBuf)> {
    let Some(chromium) = find_exe(&["chromium", "chromium-browser", "google-chrome"]) else {
        skip("browser tests: chromium is not installed (apt-get install chromium chromium-driver)");
        return None;
    };
    let Some(driver) = find_exe(&["chromedriver"]) else {
        skip("browser tests: chromedriver is not installed (apt-get install chromium-driver)");
        return None;
    };
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        skip("browser tests: chromedriver does not start");
        return None;
    };
    let d = Driver(child);
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((d, port, chromium));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    skip("browser tests: chromedriver did not start");
    None
}

pub async fn browser(port: u16, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium.display().to_string(),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("webdriver session")
}

pub fn shots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("web-screenshots"))
        .unwrap_or_else(|| PathBuf::from("web-screenshots"));
    let _ = std::fs::create_dir_all(&d);
    d
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Finds an element, waiting up to 10 s for a navigation to finish.
pub async fn find(c: &Client, l: Locator<'_>) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(l)
        .await
    {
        Ok(e) => e,
        Err(e) => panic!(
            "{l:?} not found ({e}); page: {}",
            c.source().await.unwrap_or_default()
        ),
    }
}

pub async fn fill(c: &Client, id: &str, value: &str) {
    let e = find(c, Locator::Id(id)).await;
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

pub async fn press(c: &Client, name: &str, value: &str) {
    let sel = format!("button[name='{name}'][value='{value}']");
    let e = find(c, Locator::Css(&sel)).await;
    e.click().await.expect("click");
}

pub async fn pick(c: &Client, value: &str) {
    let sel = format!("input[name='selected'][value='{value}']");
    let e = find(c, Locator::Css(&sel)).await;
    e.click().await.expect("click");
}

/// The page title once the page has one (navigations after a click finish
/// asynchronously).
pub async fn title(c: &Client) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        match c.title().await {
            Ok(t) if !t.is_empty() => return t,
            _ if Instant::now() > end => {
                panic!("no title; page: {}", c.source().await.unwrap_or_default())
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Waits for a confirmation page (its title starts `Piranha (Confirm:`)
/// and returns its title.
pub async fn wait_confirmation(c: &Client) -> String {
    let end = Instant::now() + Duration::from_secs(10);
    loop {
        let t = title(c).await;
        if t.starts_with("Piranha (Confirm:") {
            return t;
        }
        assert!(
            Instant::now() < end,
            "no confirmation page; page: {}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// On a confirmation page: presses CONFIRM.
pub async fn confirm(c: &Client) {
    wait_confirmation(c).await;
    press(c, "confirm", "1").await;
}

/// Logs the browser in at `base` and waits for CONTROL/MONITORING.
pub async fn log_in(c: &Client, base: &str) {
    c.goto(&format!("{base}/control")).await.expect("goto");
    fill(c, "password", super::PASSWORD).await;
    find(c, Locator::Id("login"))
        .await
        .click()
        .await
        .expect("click");
    wait_title(c, "Piranha (Control/Monitoring)").await;
}

/// Waits (10 s at most) for the page titled `want`.
pub async fn wait_title(c: &Client, want: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    let mut now = title(c).await;
    while now != want && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = title(c).await;
    }
    assert_eq!(now, want, "page: {}", c.source().await.unwrap_or_default());
}

/// A browser test's setup: chromedriver, a server with `env`, a session.
/// None (the test skipped, saying why) without chromium.
pub fn run(
    tag: &str,
    env: super::EnvBuilder,
    test: impl for<'a> FnOnce(
        &'a Client,
        &'a super::Env,
        String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + 'a>>,
) {
    let Some((_driver, port, chromium)) = start_driver() else {
        return;
    };
    let env = env.start();
    let profile = super::tempdir(&format!("{tag}-profile"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let c = browser(port, &chromium, &profile).await;
        let base = format!("http://{}", env.addr);
        test(&c, &env, base).await;
        let _ = c.close().await;
    });
}
