//! The phone pages' shared look and helpers. The desk's LAN server and the head-office
//! portal each serve these beside their own page as `kit.css` and `kit.js`, so a phone
//! shows the coach and the parent the same buttons and the same rules (text, never HTML;
//! one request id per form).

pub const KIT_CSS: &str = include_str!("../web/kit.css");
pub const KIT_JS: &str = include_str!("../web/kit.js");
