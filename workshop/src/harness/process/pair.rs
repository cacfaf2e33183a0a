//! A step's two programs together: the backend and the frontend that calls it, started and
//! stopped as one, one request sent through them (through a delay proxy, as the check does),
//! and every span they exported read back.

use std::time::Duration;

use super::{
    building::DELAY_PROXY,
    run::{Exited, Service, StopSignal},
};
use crate::{spans::SpanRecord, steps::Step};

/// A step's backend and frontend, running, the frontend calling the backend.
pub struct Pair {
    pub backend: Service,
    pub frontend: Service,
}

impl Pair {
    /// Starts the backend, then the frontend with `BACKEND_URL` pointing at it and the
    /// variables in `frontend_env`.
    pub async fn start(step: &Step, frontend_env: &[(&str, &str)]) -> Result<Pair, String> {
        Self::start_with(step, &[], frontend_env).await
    }

    /// As [`Pair::start`], with the variables in `both_env` given to both programs.
    pub async fn start_with(
        step: &Step,
        both_env: &[(&str, &str)],
        frontend_env: &[(&str, &str)],
    ) -> Result<Pair, String> {
        let backend = Service::start(&step.backend(), both_env).await?;
        let backend_url = backend.url();
        let mut env = both_env.to_vec();
        env.push(("BACKEND_URL", backend_url.as_str()));
        env.extend_from_slice(frontend_env);
        match Service::start(&step.frontend(), &env).await {
            Ok(frontend) => Ok(Pair { backend, frontend }),
            Err(error) => {
                let _ = backend.stop().await;
                Err(error)
            }
        }
    }

    /// Stops the frontend, then the backend, each with SIGTERM.
    pub async fn stop(self) -> Result<(Exited, Exited), String> {
        self.stop_with(StopSignal::Terminate).await
    }

    /// Stops the frontend, then the backend, each with `signal`.
    pub async fn stop_with(self, signal: StopSignal) -> Result<(Exited, Exited), String> {
        let frontend = self.frontend.stop_with(signal).await;
        let backend = self.backend.stop_with(signal).await;
        Ok((frontend?, backend?))
    }
}

/// A frontend's answer to `GET /`, or why there was none.
pub type Answer = Result<(reqwest::StatusCode, String), String>;

/// Starts the `backend` package, a delay proxy in front of it that holds every byte `delay`
/// each way, and the `frontend` package calling the backend through the proxy; sends the
/// frontend one request; stops the frontend, the proxy and the backend with SIGTERM. Both
/// programs get `both_env`; the backend `backend_env` too. An error if one did not start;
/// else the frontend's answer, and how each exited (an error if it did not, within
/// [`PATIENCE`](super::PATIENCE)).
pub async fn one_request_through_proxy(
    programs: [&str; 2],
    both_env: &[(&str, &str)],
    backend_env: &[(&str, &str)],
    delay: Duration,
) -> Result<(Answer, Result<Exited, String>, Result<Exited, String>), String> {
    one_request_through_proxy_with(programs, both_env, backend_env, delay, &[]).await
}

/// As [`one_request_through_proxy`], with `headers` on the request.
pub async fn one_request_through_proxy_with(
    [frontend, backend]: [&str; 2],
    both_env: &[(&str, &str)],
    backend_env: &[(&str, &str)],
    delay: Duration,
    headers: &[(&str, &str)],
) -> Result<(Answer, Result<Exited, String>, Result<Exited, String>), String> {
    let mut env = both_env.to_vec();
    env.extend_from_slice(backend_env);
    let backend = Service::start(backend, &env).await?;
    let upstream = backend.address().to_string();
    let delay = delay.as_millis().to_string();
    let proxy_env = [("UPSTREAM_ADDR", upstream.as_str()), ("DELAY_MS", &delay)];
    let proxy = match Service::start(DELAY_PROXY, &proxy_env).await {
        Ok(proxy) => proxy,
        Err(error) => {
            let _ = backend.stop().await;
            return Err(error);
        }
    };
    let proxy_url = proxy.url();
    let mut env = both_env.to_vec();
    env.push(("BACKEND_URL", &proxy_url));
    let frontend = match Service::start(frontend, &env).await {
        Ok(frontend) => frontend,
        Err(error) => {
            let _ = proxy.stop().await;
            let _ = backend.stop().await;
            return Err(error);
        }
    };
    let answer = http_get_with(&frontend.url(), headers).await;
    let frontend = frontend.stop().await;
    let _ = proxy.stop().await;
    let backend = backend.stop().await;
    Ok((answer, frontend, backend))
}

/// Every span the step's traced programs printed, frontend's first.
pub fn exported_spans(
    step: &Step,
    frontend: &Exited,
    backend: &Exited,
) -> Result<Vec<SpanRecord>, String> {
    let mut spans = Vec::new();
    for (name, exited, traced) in [
        ("frontend", frontend, step.frontend_traced),
        ("backend", backend, step.backend_traced),
    ] {
        if traced {
            let printed = exited
                .parse_spans()
                .map_err(|error| format!("reading the {name}'s stdout: {error}"))?;
            spans.extend(printed);
        } else if !exited.stdout.is_empty() {
            return Err(format!(
                "the untraced {name} printed to stdout: {:?}",
                exited.stdout
            ));
        }
    }
    Ok(spans)
}

/// `GET url` with a 10-second limit: the status and the body.
pub async fn http_get(url: &str) -> Result<(reqwest::StatusCode, String), String> {
    http_get_with(url, &[]).await
}

/// As [`http_get`], with the request headers `headers`.
pub async fn http_get_with(
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(reqwest::StatusCode, String), String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(|error| error.to_string())?;
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .map_err(|error| format!("GET {url}: {error}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .map_err(|error| format!("GET {url}: reading the body: {error}"))?;
    Ok((status, body))
}
