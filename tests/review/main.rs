//! The review pages: sign-in through the (fake) GitLab's OAuth, the refusals, the headers,
//! and a maintainer's decision from the page, over HTTP and in a real headless Chromium.

mod browser;
mod harness;
mod http;
