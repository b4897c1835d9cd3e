//! Each request's Leptos work runs under a root owner of its own.
//!
//! Why: Leptos keeps "the current reactive owner" in a thread-local, and
//! the owner a page render creates (`Owner::new_root` in
//! leptos_integration_utils' `build_response`) is *set* there and never
//! taken back. The next request the same worker thread polls starts with
//! that page's owner still current. Two leptos_axum handlers then build
//! their owner with `Owner::new()`, which adopts the current owner as its
//! parent: the static-file branch of `file_and_error_handler` and the
//! server-function handler. Context lookups walk up to the parent, so a
//! stylesheet request found the *other* request's `ResponseOptions` and
//! `extend_response` copied its status (an auditor's 403 on /admin, a 404)
//! onto the file, and moved that page's extra headers (a `Location`,
//! `Retry-After`) off the page onto the file. Only the status and those
//! headers could cross: bodies are built per request.
//!
//! Polling every request's future under a fresh root (restored after each
//! poll by `Owner::with`) means any `Owner::new()` inside has that empty
//! root as parent, whatever another request left in the thread-local.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::{extract::Request, middleware::Next, response::Response};
use leptos::reactive::owner::Owner;

pub async fn isolate(request: Request, next: Next) -> Response {
    Isolated {
        owner: Owner::new_root(None),
        inner: Box::pin(next.run(request)),
    }
    .await
}

/// A future polled with `owner` as the current reactive owner.
struct Isolated<F> {
    owner: Owner,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for Isolated<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.owner.with(|| this.inner.as_mut().poll(cx))
    }
}
