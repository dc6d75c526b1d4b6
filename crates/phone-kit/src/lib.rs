//! The phone pages' shared skeleton, look and helpers. The desk's LAN server and the head-office
//! portal each serve these beside their own page as `kit.css` and `kit.js`, so a phone
//! shows the coach and the parent the same buttons and the same rules (text, never HTML;
//! one request id per form).

pub const KIT_CSS: &str = include_str!("../web/kit.css");
pub const KIT_JS: &str = include_str!("../web/kit.js");

const PAGE_HTML: &str = include_str!("../web/page.html");

/// The HTML both phone pages load: kit.css (then the page's own stylesheet, if any),
/// kit.js then the page's app.js, all relative to the page, and the three places kit.js
/// fills (`#bar`, `#main`, `#actions`). `title` and `own_stylesheet` are our own
/// constants, put in as they are.
pub fn page_html(title: &str, own_stylesheet: Option<&str>) -> String {
    let css = own_stylesheet.map(|href| format!("\n<link rel=\"stylesheet\" href=\"{href}\">")).unwrap_or_default();
    PAGE_HTML.replace("{title}", title).replace("{own_stylesheet}", &css)
}
