//! Driving a step's router inside the test process, without a port: the request reaches the
//! handler exactly as axum would deliver it.

use axum::{
    Router,
    body::{self, Body},
    http::{Request, StatusCode},
};
use tower::ServiceExt;

/// Sends `GET /` with `headers` (raw bytes, so a test can send anything a stranger could) to
/// `router`, and returns the status and the body.
pub async fn get(router: Router, headers: &[(&str, &[u8])]) -> (StatusCode, String) {
    let mut request = Request::get("/");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::empty()).expect("a valid test request");
    let response = router.oneshot(request).await.expect("routers do not fail");
    let status = response.status();
    let body = body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a readable body");
    (status, String::from_utf8_lossy(&body).into_owned())
}
