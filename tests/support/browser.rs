//! Headless Chromium through ChromeDriver (WebDriver, fantoccini) for the browser tests: finding the two
//! programs, one fresh profile and driver per browser, screenshots, and waits that poll the DOM with a
//! deadline instead of sleeping. Included by `tests/browser.rs` and `tests/browser_sessions.rs`.
// Each test binary uses its own part of this module.
#![allow(dead_code)]
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Generous: it bounds a failure; a passing wait returns as soon as the page is ready.
pub(crate) const WAIT: Duration = Duration::from_secs(25);
/// How often a wait looks at the DOM again.
pub(crate) const POLL: Duration = Duration::from_millis(50);

/// The flags every Chromium of these tests starts with: headless, and nothing that talks to the network
/// on its own.
pub(crate) const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,720",
    "--hide-scrollbars",
];

pub(crate) struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// Chromium and ChromeDriver from `EDA_CHROMIUM`/`EDA_CHROMEDRIVER` or the `PATH`; `None` (and a loud
/// line on stderr) when either is missing.
pub(crate) fn tools(test: &str) -> Option<Tools> {
    let find = |var: &str, names: &[&str]| -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(var) {
            return Some(PathBuf::from(path));
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    };
    let chromium = find(
        "EDA_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = find("EDA_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        _ => {
            eprintln!(
                "\n!!! SKIPPED browser test `{test}`: chromium and/or chromedriver not found.\n!!! Install them \
                 (apt-get install chromium chromium-driver) or set EDA_CHROMIUM / EDA_CHROMEDRIVER.\n"
            );
            None
        }
    }
}

/// A ChromeDriver process, a fresh Chromium profile and a WebDriver session on them.
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    profile: PathBuf,
}

/// How a browser looks at the pages: the page's own size in CSS pixels and the colour scheme it prefers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) dark: bool,
}

impl View {
    /// The projector size the layout is made for, in light mode.
    pub(crate) const DEFAULT: View = View {
        width: 1280,
        height: 720,
        dark: false,
    };
}

impl Browser {
    pub(crate) async fn start(tools: &Tools, name: &str) -> Browser {
        Browser::start_in(tools, name, View::DEFAULT).await
    }

    /// A browser whose page is `view.width`×`view.height` and which prefers a dark scheme when asked.
    pub(crate) async fn start_in(tools: &Tools, name: &str, view: View) -> Browser {
        let profile =
            std::env::temp_dir().join(format!("eda-browser-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the Chromium profile directory");
        let (driver, port) = spawn_driver(&tools.chromedriver);
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        if view.dark {
            // Makes `prefers-color-scheme: dark` match, as a dark desktop theme does.
            args.push("--force-dark-mode".to_owned());
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": tools.chromium, "args": args }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("open a WebDriver session");
        resize(&client, view.width, view.height).await;
        Browser {
            client,
            driver,
            profile,
        }
    }

    pub(crate) async fn stop(mut self) {
        // `Client` is a handle; closing a clone ends the session for all of them.
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failing test panics before `stop`: do not leave a driver (and its Chromium) behind.
        let _ = self.driver.kill();
    }
}

/// Serves the playground with the bundled exercises on a free loopback port, for the test's life.
pub(crate) async fn serve_bundled() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(eda_playground::serve::serve(
        listener,
        eda_playground::web::AppState::with_catalog(
            eda_playground::config::Config::default(),
            eda_playground::exercise::Catalog::bundled(),
        ),
    ));
    addr
}

/// Chooses the playground's speed (`"4"` for 4×).
pub(crate) async fn set_speed(client: &Client, speed: &str) {
    client
        .find(Locator::Css("#speed"))
        .await
        .expect("speed select")
        .select_by_value(speed)
        .await
        .expect("choose a speed");
}

/// Pauses the run if it is playing.
pub(crate) async fn pause(client: &Client) {
    client
        .execute(
            "document.querySelector('#btn-play').textContent === 'Pause' && document.querySelector('#btn-play').click();",
            vec![],
        )
        .await
        .expect("pause");
}

/// Plays the run if it is paused; a run rebuilt by a Design change keeps the pause it had.
pub(crate) async fn play(client: &Client) {
    client
        .execute(
            "document.querySelector('#btn-play').textContent === 'Play' && document.querySelector('#btn-play').click();",
            vec![],
        )
        .await
        .expect("play");
}

/// Opens an exercise and loads a run file that replays it to its end, paused.
pub(crate) async fn open_at_end(
    client: &Client,
    addr: std::net::SocketAddr,
    exercise: &str,
    dir: &Path,
) {
    client
        .goto(&format!("http://{addr}/exercises/{exercise}"))
        .await
        .expect("open the playground");
    let run_for = wait_until(
        client,
        "the live sandbox",
        "['live', 'finished'].includes(document.querySelector('#playground')?.dataset.status) && document.querySelector('#topology .node') && Number(document.querySelector('#playground').dataset.runFor)",
    )
    .await;
    let seed = wait_until(
        client,
        "the seed",
        "Number(document.querySelector('#seed').textContent) >= 0 && document.querySelector('#seed').textContent",
    )
    .await;
    let seed: u64 = seed.as_str().unwrap_or("1").parse().unwrap_or(1);
    let run = json!({
        "format": "eda-playground-run", "version": 1, "exercise": exercise, "seed": seed,
        "commands": [], "at": run_for,
    });
    let file = dir.join(format!("{exercise}.json"));
    std::fs::write(&file, run.to_string()).expect("write the run file");
    client
        .find(Locator::Css("#import-file"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the run file");
    wait_until(
        client,
        "the run at its end",
        &format!("document.querySelector('#playground').dataset.at === '{run_for}'"),
    )
    .await;
}

/// Makes the page itself (not the window around it) `width`×`height` CSS pixels.
pub(crate) async fn resize(client: &Client, width: u32, height: u32) {
    // --window-size counts the window, not the page: grow the window by whatever surrounds the page.
    let chrome = client
        .execute(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await
        .ok();
    let extra = |i: usize| {
        chrome
            .as_ref()
            .and_then(|v| v.get(i))
            .and_then(Value::as_u64)
            .unwrap_or(0) as u32
    };
    let _ = client
        .set_window_size(width + extra(0), height + extra(1))
        .await;
}

/// Where axe-core's `axe.min.js` is: `EDA_AXE_JS`, or the cache `.ci/run` installs it into. `None` with
/// a loud line on stderr when it is missing; with `EDA_REQUIRE_AXE` set (as `.ci/run` does) a missing
/// axe-core fails the test.
pub(crate) fn axe_script(test: &str) -> Option<String> {
    let cached = std::env::var_os("HOME").map(|home| {
        PathBuf::from(home).join(".cache/eda-playground/axe/node_modules/axe-core/axe.min.js")
    });
    let path = std::env::var_os("EDA_AXE_JS")
        .map(PathBuf::from)
        .or(cached)
        .filter(|p| p.is_file());
    match path.map(std::fs::read_to_string) {
        Some(Ok(script)) => Some(script),
        _ if std::env::var_os("EDA_REQUIRE_AXE").is_some() => {
            panic!("`{test}` needs axe-core: set EDA_AXE_JS to axe.min.js (.ci/run installs it)")
        }
        _ => {
            eprintln!(
                "\n!!! SKIPPED the axe-core checks of `{test}`: axe.min.js not found.\n!!! Run \
                 `npm install --prefix ~/.cache/eda-playground/axe axe-core` or set EDA_AXE_JS.\n"
            );
            None
        }
    }
}

/// Runs axe-core (its source in `axe`) on the page as it is now and returns one line per violation:
/// the rule, what it says and the first few elements it found.
pub(crate) async fn axe_violations(client: &Client, axe: &str) -> Vec<String> {
    let loaded = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .unwrap_or(Value::Null);
    if loaded != Value::Bool(true) {
        // Evaluated as a function body: the script defines `axe` on `window`.
        client.execute(axe, vec![]).await.expect("inject axe-core");
    }
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 4).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').replace(/\\s+/g, ' ')).join(' | ')}`)))
               .catch(e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    strings(&result)
}

/// The strings of a JSON array a script returned (nothing for anything else).
pub(crate) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts ChromeDriver on a port of its choosing and reads the port from its first line of output.
pub(crate) fn spawn_driver(chromedriver: &Path) -> (Child, u16) {
    let mut child = Command::new(chromedriver)
        .args(["--port=0", "--allowed-ips=127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let stdout = child.stdout.take().expect("chromedriver stdout");
    let mut lines = BufReader::new(stdout).lines();
    // "ChromeDriver was started successfully on port 12345." comes after a banner line or two.
    let port = lines
        .by_ref()
        .take(20)
        .map_while(Result::ok)
        .find_map(|line| {
            // The banner says "on port 0" too: only the success line names the real port.
            let rest = line.split("started successfully on port ").nth(1)?;
            rest.trim_end_matches('.').trim().parse::<u16>().ok()
        });
    let Some(port) = port else {
        let _ = child.kill();
        panic!("chromedriver did not say which port it listens on");
    };
    // Keep draining its output so the driver never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

pub(crate) fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

pub(crate) async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let path = screenshot_dir().join(format!("{name}.png"));
    match client.screenshot().await {
        Ok(png) => {
            std::fs::write(&path, png).expect("write screenshot");
            eprintln!("screenshot: {}", path.display());
        }
        Err(error) => eprintln!("no screenshot {name}: {error}"),
    }
    path
}

/// Polls `expression` (JavaScript) until it is truthy, and returns its value. On timeout, saves a
/// screenshot and fails with `what`.
pub(crate) async fn wait_until(client: &Client, what: &str, expression: &str) -> Value {
    let script = format!("return ({expression});");
    let deadline = Instant::now() + WAIT;
    loop {
        let value = client.execute(&script, vec![]).await.unwrap_or(Value::Null);
        let truthy = match &value {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(_) => true,
        };
        if truthy {
            return value;
        }
        if Instant::now() > deadline {
            let shot = screenshot(client, &format!("failed-{}", slug(what))).await;
            panic!(
                "timed out waiting for {what} (screenshot: {})",
                shot.display()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

pub(crate) fn slug(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Clicks the element `css` names, finding it again if a live view replaced it in between.
pub(crate) async fn click(client: &Client, css: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let element = client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"));
        match element.click().await {
            Ok(()) => return,
            Err(error)
                if Instant::now() < deadline && error.to_string().contains("stale element") => {}
            Err(error) => panic!("cannot click {css}: {error}"),
        }
    }
}
