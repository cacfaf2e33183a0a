//! Headless Chromium, driven as a person would use a page: open an address, wait for what it
//! shows, click, read the DOM. Over the Chrome DevTools Protocol, on a
//! WebSocket (tungstenite): the protocol every browser-testing tool speaks underneath.

use std::{
    io::{Read, Write},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

/// How long a page may take to show what a test waits for: seconds for a working one.
const PATIENCE: Duration = Duration::from_secs(30);

pub struct Browser {
    _chromium: Chromium,
    page: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Headless Chromium with one page open, `width` by `height`; `None` where there is no
    /// Chromium (after saying so), which in CI is a failure: CI installs it.
    pub fn start(test_name: &str, width: u32, height: u32) -> Option<Browser> {
        let Some(program) = chromium() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test_name} must run in CI, but there is no chromium"
            );
            // Straight to stderr: the test harness hides what a passing test prints.
            let _ = writeln!(
                std::io::stderr(),
                "skipped {test_name}: no chromium (CI=true installs Debian's)"
            );
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let mut command = Command::new(program);
        // A group of its own, to stop it with every process it starts.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let chromium = command
            .args(workshop::book::screenshot::HEADLESS_CHROMIUM)
            .arg("--remote-debugging-port=0")
            .arg(format!("--window-size={width},{height}"))
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(Chromium)
            .unwrap();
        // Chromium writes the port it took into its profile once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let port = poll(
            "Chromium to say its DevTools port",
            || {
                let text = std::fs::read_to_string(&port_file).ok()?;
                text.lines().next()?.trim().parse::<u16>().ok()
            },
            Duration::from_millis(20),
        );
        let page_url = poll(
            "Chromium's page",
            || {
                let targets: Value = serde_json::from_str(&http_get(port, "/json/list")?).ok()?;
                targets
                    .as_array()?
                    .iter()
                    .find(|target| target["type"] == "page")?["webSocketDebuggerUrl"]
                    .as_str()
                    .map(str::to_owned)
            },
            Duration::from_millis(20),
        );
        let (page, _) = tungstenite::connect(page_url.as_str()).unwrap();
        if let MaybeTlsStream::Plain(stream) = page.get_ref() {
            stream.set_read_timeout(Some(PATIENCE)).unwrap();
        }
        let mut browser = Browser {
            _chromium: chromium,
            page,
            next_id: 0,
            _profile: profile,
        };
        browser.call("Page.enable", json!({}));
        browser.call("Runtime.enable", json!({}));
        Some(browser)
    }

    /// Calls a DevTools method and returns its result; a protocol error fails the test.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.page.send(Message::text(message)).unwrap();
        loop {
            let Message::Text(text) = self.page.read().unwrap() else {
                continue;
            };
            let answer: Value = serde_json::from_str(&text).unwrap();
            // Events (no id) and answers to other calls are not this one's.
            if answer["id"] != id {
                continue;
            }
            assert!(
                answer.get("error").is_none(),
                "{method}: {}",
                answer["error"]
            );
            return answer["result"].clone();
        }
    }

    /// Opens `url`, and waits until its document has loaded.
    pub fn open(&mut self, url: &str) {
        // Marks the document being left, to tell it from the one that replaces it.
        self.evaluate("window.leaving = true");
        let navigated = self.call("Page.navigate", json!({"url": url}));
        assert!(
            navigated.get("errorText").is_none(),
            "{url}: {}",
            navigated["errorText"]
        );
        self.wait_for(
            &format!("{url} to load"),
            "window.leaving === undefined && document.readyState === 'complete'",
        );
    }

    /// The value of a JavaScript expression in the page (a promise is awaited).
    pub fn evaluate(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy in the page, and returns its value; fails the test,
    /// with the page's text, if it is not within [`PATIENCE`].
    pub fn wait_for(&mut self, what: &str, expression: &str) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.evaluate(expression);
            let truthy = !matches!(&value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let text = self.evaluate("document.body ? document.body.innerText : ''");
                panic!("{what}: not within {PATIENCE:?}; the page shows:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the middle of the first element `selector` matches, with the mouse, as a person
    /// would (the element must be on screen).
    pub fn click(&mut self, selector: &str) {
        let selector_json = serde_json::to_string(selector).unwrap();
        let middle = self.wait_for(
            &format!("{selector} to be shown"),
            &format!(
                "(() => {{ const element = document.querySelector({selector_json}); \
                 if (!element) return null; element.scrollIntoView({{block: 'center'}}); \
                 const box = element.getBoundingClientRect(); \
                 return box.width > 0 ? [box.x + box.width / 2, box.y + box.height / 2] : null; }})()"
            ),
        );
        let (x, y) = (middle[0].as_f64().unwrap(), middle[1].as_f64().unwrap());
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            );
        }
    }
}

/// The browser's processes, stopped, all of them, however the test ends (a failed assertion
/// too, even before the page is open).
struct Chromium(Child);

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Debian's `chromium`, or Google's `chromium-browser` / `google-chrome`, on the PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |folder| folder.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `found()` once it is `Some`, asked every `interval`; fails the test after [`PATIENCE`].
fn poll<T>(what: &str, mut found: impl FnMut() -> Option<T>, interval: Duration) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = found() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {PATIENCE:?}");
        std::thread::sleep(interval);
    }
}

/// The body of `GET path` from Chromium's DevTools port, if it answers. (Chromium keeps the
/// connection open after answering: the body is read to its `Content-Length`.)
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(PATIENCE)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .ok()?;
    let mut answer = Vec::new();
    let mut buffer = [0; 8192];
    loop {
        let read = stream.read(&mut buffer).ok()?;
        if read == 0 {
            return None;
        }
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            continue;
        };
        let length: usize = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })?;
        if body.len() >= length {
            return Some(body.to_owned());
        }
    }
}
