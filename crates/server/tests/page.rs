//! Head office's page: asks the browser for credentials, then lists every centre with
//! its last push and the monthly figures (the same numbers as the JSON read).


use crate::common::*;

#[test]
fn the_overview_page_needs_credentials_and_shows_each_centres_figures() {
    let server = Server::start();
    server.add_centre("SH01");
    let desk = demo_centre(6, 31);
    desk.register(&server, "SH01");
    desk.core.sync_now(&desk.admin).unwrap();

    let refused = ureq::get(&format!("{}/", server.url)).call();
    match refused {
        Err(ureq::Error::Status(401, r)) => assert!(r.header("WWW-Authenticate").unwrap_or_default().starts_with("Basic")),
        other => panic!("{other:?}"),
    }
    let (status, html) = get_text(&format!("{}/", server.url), &basic());
    assert_eq!(status, 200);
    assert!(html.contains("<td>SH01</td>"), "{html}");
    let figures = centredesk_server::reports::monthly(server.store.as_ref(), Some("SH01"), "2026-11").unwrap();
    assert!(!figures.is_empty());
    for f in &figures {
        assert!(html.contains(&format!("<td>{}</td><td class=\"n\">{}</td>", f.month, f.revenue)), "{} {} missing", f.month, f.revenue);
    }
    assert!(html.contains(&desk.log_len().to_string()), "ops received shown");
}
