use super::*;

fn signin(layout: Layout, email: &str, error: Option<&str>) -> String {
    SigninPage {
        layout,
        csrf: "csrf-\"token\"".into(),
        email: email.into(),
        error: error.map(Into::into),
        next: String::new(),
    }
    .render()
    .unwrap()
}

fn nav(is_owner: bool, is_admin: bool) -> Nav {
    Nav {
        user_name: "Ada <b>Lovelace</b>".into(),
        role: "developer & owner".into(),
        is_owner,
        is_admin,
        csrf: "nav-csrf\"><script>".into(),
    }
}

#[test]
fn signin_page_escapes_every_value() {
    let html = signin(
        Layout::signed_out().with_flash(FlashKind::Info, "<img src=x onerror=alert(1)>"),
        "\"><script>alert(1)</script>",
        Some("Bad <b>password</b> & 'email'"),
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(
        html.contains(r#"value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;""#),
        "{html}"
    );
    assert!(
        html.contains("Bad &#60;b&#62;password&#60;/b&#62; &#38; &#39;email&#39;"),
        "{html}"
    );
    assert!(
        html.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{html}"
    );
    assert!(
        !html.contains("csrf-\"token\""),
        "csrf attribute cannot be broken out of"
    );
}

#[test]
fn signin_page_has_the_form_the_handler_expects() {
    let html = signin(Layout::signed_out(), "ada@example.com", None);
    assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
    assert!(html.contains(r#"<form class="form" method="post" action="/portal/signin">"#));
    assert!(html.contains(r#"<input type="hidden" name="csrf" value="csrf-"#));
    assert!(html.contains(r#"name="email" value="ada@example.com""#));
    assert!(html.contains(r#"type="password" id="password" name="password""#));
    assert!(
        !html.contains("role=\"alert\""),
        "no error slot without an error"
    );
    assert!(!html.contains("aria-invalid"));
    assert!(html.contains("<title>Sign in · Gatehouse developer portal</title>"));
}

#[test]
fn signin_error_is_announced_and_linked_to_the_fields() {
    let html = signin(
        Layout::signed_out(),
        "",
        Some("Email or password is incorrect."),
    );
    assert!(html.contains(r#"role="alert" id="signin-error">Email or password is incorrect.</p>"#));
    assert_eq!(
        html.matches(r#"aria-describedby="signin-error""#).count(),
        2
    );
}

#[test]
fn base_layout_loads_only_vendored_assets_and_disables_htmx_inline_styles() {
    let html = signin(Layout::signed_out(), "", None);
    let css = crate::assets::versioned_url("portal.css");
    let js = crate::assets::versioned_url("htmx.min.js");
    assert!(html.contains(&format!(r#"<link rel="stylesheet" href="{css}">"#)));
    assert!(html.contains(&format!(r#"<script src="{js}" defer></script>"#)));
    assert!(
        html.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(html.contains(r#""includeIndicatorStyles":false"#));
    assert!(html.contains(r#""historyCacheSize":0"#));
    assert!(html.contains(r##"<a class="skip-link" href="#main">"##));
    assert!(html.contains(r#"<main id="main""#));
    // CSP: no inline code or styles, nothing from elsewhere.
    assert!(!html.contains("style="), "{html}");
    assert!(!html.contains("<style"), "{html}");
    let own = crate::assets::versioned_url("portal.js");
    assert!(html.contains(&format!(r#"<script src="{own}" defer></script>"#)));
    assert_eq!(
        html.matches("<script").count(),
        2,
        "only the external htmx and portal scripts"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    assert!(!html.contains(" on"), "no inline event handlers: {html}");
}

#[test]
fn signed_out_pages_show_no_navigation() {
    let html = signin(Layout::signed_out(), "", None);
    assert!(!html.contains("/portal/apps"));
    assert!(!html.contains("Sign out"));
}

#[test]
fn developer_nav_has_catalog_apps_and_a_post_signout_with_escaped_csrf() {
    let html = signin(
        Layout::signed_in(nav(false, false), Some(Section::MyApps)),
        "",
        None,
    );
    assert!(html.contains(r#"<a href="/portal/apis">Catalog</a>"#));
    assert!(html.contains(r#"<a href="/portal/apps" aria-current="page">My applications</a>"#));
    assert!(!html.contains("/portal/owner"));
    assert!(!html.contains("/portal/admin"));
    assert!(html.contains(r#"<form method="post" action="/portal/signout">"#));
    assert!(
        html.contains("Ada &#60;b&#62;Lovelace&#60;/b&#62;"),
        "{html}"
    );
    assert!(html.contains("developer &#38; owner"), "{html}");
    assert!(!html.contains("nav-csrf\"><script>"), "{html}");
    assert!(
        html.contains(
            r#"<input type="hidden" name="csrf" value="nav-csrf&#34;&#62;&#60;script&#62;">"#
        ),
        "{html}"
    );
}

#[test]
fn owner_and_admin_links_follow_the_flags() {
    let html = signin(
        Layout::signed_in(nav(true, false), Some(Section::Owner)),
        "",
        None,
    );
    assert!(html.contains(r#"<a href="/portal/owner" aria-current="page">Owner dashboard</a>"#));
    assert!(!html.contains("/portal/admin"));
    let html = signin(Layout::signed_in(nav(false, true), None), "", None);
    assert!(!html.contains("/portal/owner"));
    assert!(html.contains(r#"<a href="/portal/admin">Admin</a>"#));
    assert!(!html.contains("aria-current"));
}

#[test]
fn flashes_render_with_kind_class_and_role() {
    let layout = Layout::signed_out()
        .with_flash(FlashKind::Success, "Application created.")
        .with_flash(FlashKind::Error, "Could not revoke.");
    let html = signin(layout, "", None);
    assert!(
        html.contains(
            r#"<div class="flash flash-success" role="status">Application created.</div>"#
        )
    );
    assert!(
        html.contains(r#"<div class="flash flash-error" role="alert">Could not revoke.</div>"#)
    );
}

#[test]
fn signin_form_debug_redacts_secrets() {
    let form = SigninForm {
        email: "ada@example.com".into(),
        password: "hunter2".into(),
        csrf: "tok".into(),
        next: String::new(),
    };
    let debug = format!("{form:?}");
    assert!(debug.contains("ada@example.com"));
    assert!(!debug.contains("hunter2"));
    assert!(!debug.contains("tok\""));
}

#[test]
fn debug_output_never_shows_csrf_tokens() {
    let layout = Layout::signed_in(nav(true, true), None);
    let page = SigninPage {
        layout,
        csrf: "page-secret-token".into(),
        email: String::new(),
        error: None,
        next: String::new(),
    };
    let debug = format!("{page:?}");
    assert!(debug.contains("Ada"));
    assert!(!debug.contains("page-secret-token"), "{debug}");
    assert!(!debug.contains("nav-csrf"), "{debug}");
}
