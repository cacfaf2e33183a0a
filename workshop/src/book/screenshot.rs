//! The picture of the trace viewer's web page the book shows: one request through step 07,
//! served by the viewer's own page ([`trace_viewer::web`]) and photographed by headless
//! Chromium, with the backend's span clicked. The PNG carries the trace's outline in an `iTXt`
//! chunk, as the SVG pictures carry it in their `<desc>`, for the tests to compare with what the
//! step exports now.

use std::{path::PathBuf, process::Stdio, time::Duration};

use opentelemetry::trace::SpanKind;
use trace_viewer::web::{self, Store};

use crate::spans::{self, SpanRecord};

/// The step whose page the book shows: the first that sends OTLP, where the page comes in.
pub const STEP: &str = "07";

/// Its file name under [`GENERATED`](super::GENERATED).
pub const NAME: &str = "viewer-step-07.png";

/// The keyword of the `iTXt` chunk that holds the outline.
const KEYWORD: &str = "Description";

/// Headless Chromium, as the tests run it too: no sandbox (CI runs as root), no GPU, no
/// scroll bars in the picture, no first-run dialogs.
pub const HEADLESS_CHROMIUM: [&str; 5] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
];

/// The browser window: as wide as a projector shows without scrolling, as high as the trace.
const WINDOW: &str = "--window-size=1100,600";

/// The longest Chromium may take to photograph the page.
const PATIENCE: Duration = Duration::from_secs(60);

/// `spans` on the viewer's page, the backend's server span clicked, photographed by Chromium;
/// a PNG with the trace's outline in it.
pub async fn viewer_page(spans: &[SpanRecord]) -> Result<Vec<u8>, String> {
    let clicked = spans
        .iter()
        .find(|span| span.service == "backend" && span.kind == SpanKind::Server)
        .or(spans.first())
        .ok_or("no spans to show")?;
    let store = Store::with_budget(8 << 20);
    store.add_trace(spans.to_vec());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| format!("binding the page's port: {error}"))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("the page's port: {error}"))?;
    let server = tokio::spawn(web::serve(listener, store));
    let url = format!(
        "http://{address}/trace/{}#span-{}",
        clicked.trace_id, clicked.span_id
    );
    let shot = photograph(&url).await;
    server.abort();
    with_text(&shot?, KEYWORD, &spans::outline(spans))
}

/// Chromium's picture of the page at `url`.
async fn photograph(url: &str) -> Result<Vec<u8>, String> {
    let folder = std::env::temp_dir().join(format!("workshop-screenshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).map_err(|error| format!("{}: {error}", folder.display()))?;
    let file: PathBuf = folder.join("page.png");
    let mut command = tokio::process::Command::new("chromium");
    // A group of its own, so that a Chromium that hangs is stopped with all it started.
    #[cfg(unix)]
    command.process_group(0);
    command
        .args(HEADLESS_CHROMIUM)
        .arg(WINDOW)
        .arg(format!(
            "--user-data-dir={}",
            folder.join("profile").display()
        ))
        .arg(format!("--screenshot={}", file.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let outcome = match command.spawn() {
        Err(error) => Err(format!(
            "cannot run chromium, which photographs the viewer's page: {error}"
        )),
        Ok(mut chromium) => match tokio::time::timeout(PATIENCE, chromium.wait()).await {
            Ok(Ok(status)) if status.success() => std::fs::read(&file)
                .map_err(|error| format!("reading Chromium's screenshot: {error}")),
            Ok(Ok(status)) => Err(format!("chromium exited with {status}")),
            Ok(Err(error)) => Err(format!("waiting for chromium: {error}")),
            Err(_) => {
                #[cfg(unix)]
                if let Some(pid) = chromium.id() {
                    let _ = std::process::Command::new("kill")
                        .args(["-KILL", "--", &format!("-{pid}")])
                        .status();
                }
                let _ = chromium.kill().await;
                Err(format!("chromium took longer than {PATIENCE:?}"))
            }
        },
    };
    let _ = std::fs::remove_dir_all(&folder);
    outcome
}

/// `png` with an `iTXt` chunk (UTF-8 text), `keyword` and `text`, before its last chunk, which
/// must be its end (`IEND`).
fn with_text(png: &[u8], keyword: &str, text: &str) -> Result<Vec<u8>, String> {
    let end = png.len().saturating_sub(12);
    if png.get(end + 4..end + 8) != Some(b"IEND".as_slice()) {
        return Err("Chromium's screenshot is not a whole PNG".into());
    }
    // Keyword, no compression, no language, no translated keyword, then the text.
    let data = [keyword.as_bytes(), &[0, 0, 0, 0, 0], text.as_bytes()].concat();
    let length = u32::try_from(data.len()).map_err(|_| "the outline is too long for a PNG")?;
    let typed = [b"iTXt".as_slice(), &data].concat();
    let mut chunk = length.to_be_bytes().to_vec();
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32fast::hash(&typed).to_be_bytes());
    Ok([&png[..end], &chunk, &png[end..]].concat())
}

/// The outline a picture made by [`viewer_page`] carries; `None` for a file without one.
pub fn outline(png: &[u8]) -> Option<String> {
    // After the 8-byte signature, chunks: length, type, data, CRC.
    let mut at = 8;
    while at + 8 <= png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().ok()?) as usize;
        let kind = &png[at + 4..at + 8];
        let data = png.get(at + 8..at + 8 + length)?;
        if kind == b"iTXt" {
            let (keyword, rest) = data.split_at(data.iter().position(|&byte| byte == 0)?);
            // After the keyword's 0: flag and method (uncompressed), then two empty strings.
            if keyword == KEYWORD.as_bytes() && rest.starts_with(&[0, 0, 0, 0, 0]) {
                return String::from_utf8(rest[5..].to_vec()).ok();
            }
        }
        at += length + 12;
    }
    None
}
