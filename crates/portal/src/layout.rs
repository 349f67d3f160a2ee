//! What every page hands to `templates/base.html`, and the sign-in page built on it.
//!
//! Each page is an askama template that `{% extends "base.html" %}` and has a field
//! `layout: Layout`; the base template reads the navigation bar and flash messages from it.
//! Values are escaped by askama when printed. Only [`crate::chart::Markup`] (and values a
//! template marks `|safe`, which pages must not do with user data) is printed as is.
//!
//! ```
//! use askama::Template;
//! use gatehouse_portal::layout::{Layout, SigninPage};
//!
//! let page = SigninPage {
//!     layout: Layout::signed_out(),
//!     csrf: "token".into(),
//!     email: String::new(),
//!     error: None,
//! };
//! let html = page.render().unwrap();
//! assert!(html.starts_with("<!doctype html>"));
//! ```

use std::fmt;

use askama::Template;
use serde::Deserialize;

/// The shared part of every page: who is signed in, which section is open, flash messages.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The signed-in user's navigation, or `None` on signed-out pages (sign-in, errors).
    pub nav: Option<Nav>,
    /// The section of the site the page belongs to, marked `aria-current="page"` in the nav.
    pub section: Option<Section>,
    /// Messages shown once above the page content (typically read from a flash cookie).
    pub flashes: Vec<Flash>,
}

/// The navigation bar of a signed-in user. `Debug` redacts the CSRF token.
#[derive(Clone)]
pub struct Nav {
    /// Display name, shown in the header.
    pub user_name: String,
    /// Role label shown next to the name (e.g. `developer`, `owner`, `admin`).
    pub role: String,
    /// Shows the "Owner dashboard" link.
    pub is_owner: bool,
    /// Shows the "Admin" link.
    pub is_admin: bool,
    /// The session's CSRF token, sent as the `csrf` field of the sign-out form.
    pub csrf: String,
}

/// A section of the portal, one per navigation link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Section {
    /// The admin area, `/portal/admin`.
    Admin,
    /// The API catalog, `/portal/apis`.
    Catalog,
    /// The signed-in developer's applications, `/portal/apps`.
    MyApps,
    /// The API owner's dashboard, `/portal/owner`.
    Owner,
}

/// A one-time message shown at the top of a page.
#[derive(Clone, Debug)]
pub struct Flash {
    /// How the message is styled and announced.
    pub kind: FlashKind,
    /// Plain text; it is escaped when rendered.
    pub message: String,
}

/// The kind of a [`Flash`]: its colour, and whether screen readers interrupt for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlashKind {
    /// Something failed; announced at once (`role="alert"`).
    Error,
    /// Neutral information (`role="status"`).
    Info,
    /// An action succeeded (`role="status"`).
    Success,
    /// Something needs attention (`role="status"`).
    Warning,
}

/// The sign-in page, `GET /portal/signin`; its form posts [`SigninForm`] to `/portal/signin`.
/// `Debug` redacts the CSRF token.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SigninPage {
    /// Shared layout; normally [`Layout::signed_out`].
    pub layout: Layout,
    /// The CSRF token of the pre-session, sent back as the `csrf` field.
    pub csrf: String,
    /// The email address to pre-fill (after a failed attempt), or empty.
    pub email: String,
    /// Why the last attempt failed, shown above the form. Keep it generic ("Email or password
    /// is incorrect") so it does not tell which accounts exist.
    pub error: Option<String>,
    /// The portal page to return to after signing in (already checked to be a local
    /// `/portal` path), sent back as the `next` field; empty for the default.
    pub next: String,
}

/// The body of `POST /portal/signin` (`application/x-www-form-urlencoded`).
#[derive(Clone, Deserialize)]
pub struct SigninForm {
    /// The account's email address, as typed.
    pub email: String,
    /// The password, as typed. Never logged: `Debug` redacts it.
    pub password: String,
    /// The CSRF token from the form, to compare with the one bound to the pre-session.
    pub csrf: String,
    /// Where to go after signing in (checked again before use).
    #[serde(default)]
    pub next: String,
}

// === impl Layout ===

impl Layout {
    /// The layout of a page nobody is signed in to: no nav links, no flashes.
    pub fn signed_out() -> Self {
        Self::default()
    }

    /// The layout of a signed-in page in `section`.
    pub fn signed_in(nav: Nav, section: Option<Section>) -> Self {
        Self {
            nav: Some(nav),
            section,
            flashes: Vec::new(),
        }
    }

    /// Adds a flash message.
    pub fn with_flash(mut self, kind: FlashKind, message: impl Into<String>) -> Self {
        self.flashes.push(Flash {
            kind,
            message: message.into(),
        });
        self
    }

    /// Whether `section` is the open one; `base.html` marks its link `aria-current="page"`.
    pub fn is_current(&self, section: Section) -> bool {
        self.section == Some(section)
    }
}

// === impl Nav ===

impl fmt::Debug for Nav {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nav")
            .field("user_name", &self.user_name)
            .field("role", &self.role)
            .field("is_owner", &self.is_owner)
            .field("is_admin", &self.is_admin)
            .field("csrf", &"<redacted>")
            .finish()
    }
}

// === impl FlashKind ===

impl FlashKind {
    /// The CSS class from `portal.css`, e.g. `flash-error`.
    pub fn class(self) -> &'static str {
        match self {
            Self::Error => "flash-error",
            Self::Info => "flash-info",
            Self::Success => "flash-success",
            Self::Warning => "flash-warning",
        }
    }

    /// The ARIA live-region role: `alert` for errors, `status` otherwise.
    pub fn role(self) -> &'static str {
        match self {
            Self::Error => "alert",
            _ => "status",
        }
    }
}

// === impl SigninPage ===

impl fmt::Debug for SigninPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigninPage")
            .field("layout", &self.layout)
            .field("csrf", &"<redacted>")
            .field("email", &self.email)
            .field("error", &self.error)
            .finish()
    }
}

// === impl SigninForm ===

impl fmt::Debug for SigninForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigninForm")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("csrf", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests;
